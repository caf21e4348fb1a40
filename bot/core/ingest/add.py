"""Adding articles to the corpus folder from files, uploads and web pages.

Each new article becomes `<slug>.md` with YAML front matter. Nothing stored is ever overwritten,
except an article fetched again from the same URL, which is updated in place.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import logging
import os
import re
import stat
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urldefrag, urlsplit

from bot.config import IngestSettings
from bot.core.ingest.corpus import (
    HTML_SUFFIXES,
    MAX_FILE_BYTES,
    TEXT_SUFFIXES,
    corpus_files,
    first_heading,
    links_outside,
    shown_name,
)
from bot.core.ingest.fetch import SCHEMELESS_CREDENTIALS_RE, redact_credentials
from bot.core.ingest.frontmatter import FrontMatterError
from bot.core.ingest.frontmatter import loads as read_front_matter
from bot.core.text import clean, detect_lang
from bot.errors import IngestError

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES
MAX_SLUG_CHARS = 60
MAX_TITLE_CHARS = 200
LOCK_NAME = ".ingest.lock"
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# "www.example.com/news" typed without a scheme would otherwise be reported as a missing file.
_BARE_DOMAIN_RE = re.compile(r"^(www\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(/|$)")


@dataclass(frozen=True)
class IngestResult:
    """What became of one source: article id, title, and whether it was added, updated or a duplicate."""

    article_id: str
    title: str
    status: Literal["added", "updated", "duplicate"]
    path: Path
    duplicate_of: str | None = None


@dataclass
class _Draft:
    """An article ready to be stored: its body text and front matter."""

    body: str
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.meta["title"]


@dataclass(frozen=True)
class _Stored:
    """What the duplicate checks need to know about one article already in the corpus."""

    article_id: str
    path: Path
    checksum: str
    url: str | None


# Extracting HTML is slow: remember each corpus file's facts until the file changes.
_stored_cache: dict[Path, tuple[tuple[int, int], _Stored]] = {}


def body_checksum(text: str) -> str:
    """SHA-256 of a body with typography and whitespace normalised, to spot the same article twice."""
    return hashlib.sha256(" ".join(clean(text).split()).encode("utf-8")).hexdigest()


def slugify(title: str, max_chars: int = MAX_SLUG_CHARS) -> str:
    """A file-name stem from a title: lowercase ASCII words joined by hyphens ("article" if none)."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > max_chars:
        cut = slug[:max_chars]
        # Cut at a word boundary unless that would leave almost nothing.
        slug = cut.rsplit("-", 1)[0] if "-" in cut[max_chars // 2 :] else cut
    return slug.strip("-") or "article"


def _decode(raw: bytes, name: str, charset: str | None = None, html: bool = False) -> str:
    if not raw.strip():
        raise IngestError(f"Cannot add {name}: it is empty.")
    if b"\x00" in raw[:4096]:
        raise IngestError(f"Cannot add {name}: it is a binary file, not text.")
    candidates = [charset] if charset else []
    if html:
        m = re.search(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_-]+)""", raw[:4096], re.IGNORECASE)
        if m:
            candidates.append(m.group(1).decode("ascii"))
    candidates.append("utf-8-sig")
    for encoding in candidates:
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise IngestError(f"Cannot add {name}: it is not UTF-8 text (save it as UTF-8 and try again).")


def _first_line(body: str) -> str | None:
    for line in body.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 120 else None
    return None


# C0 and C1 control characters but tab and line ends: an ESC sequence in a title or a quoted
# passage would drive the terminal that prints it, a NUL ends up in logs and chat messages.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _as_text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return _CONTROLS.sub(" ", str(value)).strip() or None


def _draft(content: str, kind: Literal["html", "text"], name: str, url: str | None = None) -> _Draft:
    """Body and front matter of a decoded document; `name` is the file name shown to users."""
    meta: dict[str, object]
    if kind == "html":
        from bot.core.ingest.extract import extract_html

        try:
            page = extract_html(content, url)
        except IngestError as exc:
            raise IngestError(f"Cannot add {name}: {exc.user_message}") from exc
        body, meta = page.text, {"title": page.title, "date": page.date, "author": page.author}
    else:
        try:
            meta, body = read_front_matter(content)
        except FrontMatterError as exc:
            raise IngestError(f"Cannot add {name}: its front matter is refused: {exc}.") from exc
    # The body is stored as written (’, « », non-breaking spaces): citations quote it verbatim, and
    # only matching (checksums, embeddings, BM25) normalises it.
    body = _CONTROLS.sub("", body).strip()
    if not body:
        raise IngestError(f"Cannot add {name}: it has no text.")
    stem = Path(urlsplit(name).path).stem if url else Path(name).stem
    title = (
        _as_text(meta.get("title"))
        or first_heading(body)
        or _first_line(body)
        or stem.replace("-", " ").replace("_", " ").strip()
        or "Untitled"
    )
    lang = str(meta.get("lang") or "").lower()[:2]
    fields = {
        "title": " ".join(clean(title).split())[:MAX_TITLE_CHARS],
        "date": _as_text(meta.get("date")) or dt.date.today().isoformat(),
        "lang": lang if lang in ("fr", "en") else detect_lang(body[:2000]),
        "author": _as_text(meta.get("author")),
    }
    return _Draft(body=body, meta={k: v for k, v in fields.items() if v})


def _stored_article(path: Path, corpus_dir: Path) -> _Stored | None:
    """The checksum and URL of one corpus file, or None when it cannot be read (the index skips it too)."""
    try:
        stat = path.stat()
        key = (stat.st_mtime_ns, stat.st_size)
        cached = _stored_cache.get(path)
        if cached and cached[0] == key:
            return cached[1]
        if links_outside(path, corpus_dir):
            return None  # not read: the index skips it too
        raw = path.read_bytes()
        is_html = path.suffix.lower() in HTML_SUFFIXES
        content = _decode(raw, path.name, html=is_html)
        url = None
        if is_html:
            from bot.core.ingest.extract import extract_html

            body = extract_html(content).text
        else:
            try:
                meta, body = read_front_matter(content)
                url = _as_text(meta.get("url"))
            except FrontMatterError:  # refused front matter: compare the whole text
                body = content
    except (OSError, IngestError) as exc:
        log.debug("Not comparing with %s: %s", path, exc)
        return None
    stored = _Stored(path.relative_to(corpus_dir).as_posix(), path, body_checksum(body), url)
    _stored_cache[path] = (key, stored)
    return stored


def _render(draft: _Draft, keep: dict | None = None) -> str:
    import frontmatter

    # Field order is fixed so that files are easy to read; extra fields of an updated file are kept.
    order = ("title", "date", "lang", "url", "author", "source", "source_url", "added_by", "updated_by")
    meta = {k: draft.meta[k] for k in order if draft.meta.get(k)}
    for k, v in (keep or {}).items():
        meta.setdefault(k, v)
    return frontmatter.dumps(frontmatter.Post(draft.body, **meta), sort_keys=False) + "\n"


def _write(target: Path, text: str, replace: bool) -> bool:
    """Write through a temp file; a new file is only created if the name is free. False if it was taken."""
    try:
        return _write_through_temp(target, text, replace)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            # The temp file is gone (finally below) and the target untouched: say so, in one line.
            what = "the article was not updated" if replace else "nothing was stored"
            raise IngestError(f"Cannot store {target.name}: the disk holding the corpus is full; {what}.") from exc
        raise


def _write_through_temp(target: Path, text: str, replace: bool) -> bool:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".ingest-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private; articles are ordinary files (an update keeps the old mode).
        os.chmod(tmp, target.stat().st_mode & 0o777 if replace and target.exists() else 0o644)
        if replace:
            os.replace(tmp, target)
            return True
        try:
            # link() fails if the name exists, so a file created meanwhile is never clobbered.
            os.link(tmp, target)
        except FileExistsError:
            return False
        except OSError:  # file systems without hard links; the ingest lock still guards us
            if target.exists():
                return False
            os.replace(tmp, target)
        return True
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _lock(corpus_dir: Path):
    from filelock import FileLock

    return FileLock(str(corpus_dir / LOCK_NAME), timeout=60)


def _store(draft: _Draft, corpus_dir: Path) -> IngestResult:
    """Add, update or recognise as duplicate a drafted article, under the corpus lock."""
    from filelock import Timeout

    corpus_dir.mkdir(parents=True, exist_ok=True)
    checksum = body_checksum(draft.body)
    url = draft.meta.get("url")
    try:
        with _lock(corpus_dir):
            stored = [s for p in corpus_files(corpus_dir) if (s := _stored_article(p, corpus_dir))]
            same_url = next((s for s in stored if url and s.url and _same_url(s.url, url)), None)
            if same_url is not None:
                return _update(draft, same_url, checksum)
            twin = next((s for s in stored if s.checksum == checksum), None)
            if twin is not None:
                log.info("%s is a duplicate of %s", draft.title, twin.article_id)
                return IngestResult(twin.article_id, draft.title, "duplicate", twin.path, twin.article_id)
            text = _render(draft)
            slug = slugify(draft.title)
            for n in range(1, 10_000):
                target = corpus_dir / (f"{slug}.md" if n == 1 else f"{slug}-{n}.md")
                if not target.exists() and _write(target, text, replace=False):
                    article_id = target.relative_to(corpus_dir).as_posix()
                    log.info("Added %s (%s)", article_id, draft.title)
                    return IngestResult(article_id, draft.title, "added", target)
            raise IngestError(f"Cannot add {draft.title!r}: too many articles already have this title.")
    except Timeout as exc:
        raise IngestError("Another import is still running; try again in a minute.") from exc


def _update(draft: _Draft, old: _Stored, checksum: str) -> IngestResult:
    if old.checksum == checksum:
        return IngestResult(old.article_id, draft.title, "duplicate", old.path, old.article_id)
    try:
        keep = read_front_matter(old.path.read_text(encoding="utf-8"))[0]
    except (OSError, UnicodeDecodeError, FrontMatterError):  # unreadable old front matter: replaced
        keep = {}
    if keep.get("added_by"):
        # Whoever first added the article stays its adder; the one who updated it is named apart.
        draft.meta["updated_by"] = draft.meta.get("added_by")
        draft.meta["added_by"] = keep["added_by"]
    _write(old.path, _render(draft, keep), replace=True)
    log.info("Updated %s from %s", old.article_id, draft.meta.get("url"))
    return IngestResult(old.article_id, draft.title, "updated", old.path)


def _same_url(a: str, b: str) -> bool:
    return urldefrag(a.strip())[0] == urldefrag(b.strip())[0]


def _check_suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        what = f"{suffix} files are" if suffix else "files without an extension are"
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise IngestError(f"Cannot add {name}: {what} not supported (use {kinds}).")
    return suffix


def ingest_bytes(
    data: bytes, filename: str, corpus_dir: Path, max_bytes: int, added_by: str | None = None
) -> IngestResult:
    """Store an uploaded file (Markdown, text or HTML) as a new corpus article."""
    name = Path(filename).name or "upload"  # an upload's name may carry a path: never use it
    if len(data) > max_bytes:
        raise IngestError(
            f"Cannot add {name}: it is {len(data):,} bytes and the limit is {max_bytes:,} bytes."
        )
    is_html = _check_suffix(name) in HTML_SUFFIXES
    draft = _draft(_decode(data, name, html=is_html), "html" if is_html else "text", name)
    draft.meta["source"] = name
    draft.meta["added_by"] = added_by  # who added it (front matter keeps where an article came from)
    return _store(draft, corpus_dir)


def ingest_file(path: Path, corpus_dir: Path, max_bytes: int = MAX_FILE_BYTES) -> IngestResult:
    """Store a local Markdown, text or HTML file as a new corpus article."""
    path = Path(path)
    # Checked before reading: a wrong kind of file deserves that message, not an I/O one.
    _check_suffix(path.name)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(info.st_mode):
            # A FIFO waits for a writer forever and /dev/zero never ends: only regular files are read.
            raise IngestError(f"Cannot add {path.name}: it is not a regular file (a pipe or a device?).")
        if info.st_size > max_bytes:
            raise IngestError(f"Cannot add {path.name}: it is larger than {max_bytes:,} bytes.")
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)  # bounded even if the file grows while it is read
        if len(data) > max_bytes:
            raise IngestError(f"Cannot add {path.name}: it is larger than {max_bytes:,} bytes.")
    except FileNotFoundError as exc:
        raise IngestError(f"Cannot add {path}: there is no such file.") from exc
    except IsADirectoryError as exc:
        raise IngestError(f"Cannot add {path}: it is a folder, not a file.") from exc
    except OSError as exc:
        raise IngestError(f"Cannot add {path}: it cannot be read ({exc.strerror or exc}).") from exc
    # A name that is not UTF-8 ("caf\xe9.md" from a Latin-1 system) cannot be stored as text as is.
    return ingest_bytes(data, shown_name(path.name), corpus_dir, max_bytes)


def ingest_url(
    url: str, corpus_dir: Path, settings: IngestSettings, added_by: str | None = None
) -> IngestResult:
    """Fetch a web page and store it; the same URL again updates its article instead of adding one."""
    from bot.core.ingest.fetch import fetch_url

    page = fetch_url(url.strip(), settings)
    final_url = urldefrag(page.final_url)[0]
    is_html = page.content_type in ("text/html", "application/xhtml+xml")
    content = _decode(page.body, final_url, page.charset, html=is_html)
    draft = _draft(content, "html" if is_html else "text", final_url, url=final_url)
    draft.meta["url"] = final_url
    draft.meta["source"] = urlsplit(final_url).hostname or final_url
    draft.meta["source_url"] = final_url
    draft.meta["added_by"] = added_by
    return _store(draft, corpus_dir)


def _looks_like_bare_link(source: str) -> bool:
    if not _BARE_DOMAIN_RE.match(source) or Path(source).exists():
        return False
    # "notes.md" is a missing file more likely than a Moldovan web site.
    return source.lower().startswith("www.") or Path(source).suffix.lower() not in SUPPORTED_SUFFIXES


def ingest(
    sources: list[str], corpus_dir: Path, settings: IngestSettings
) -> list[IngestResult | IngestError]:
    """Ingest each URL or file path in turn; a failure is returned in its place and the rest go on."""
    results: list[IngestResult | IngestError] = []
    for source in sources:
        source = source.strip()
        try:
            if _URL_RE.match(source):
                results.append(ingest_url(source, corpus_dir, settings))
            elif SCHEMELESS_CREDENTIALS_RE.match(source) and not Path(source).exists():
                # Refused before any file look-up: a "no such file" message would echo the password.
                raise IngestError(
                    "Cannot add this source: it looks like a web link with a user name or password"
                    " (user:password@host); remove them and write the link in full, with https:// in front."
                )
            elif _looks_like_bare_link(source):
                raise IngestError(f"Cannot add {source}: write web links in full, with https:// in front.")
            else:
                results.append(ingest_file(Path(source), corpus_dir, settings.max_bytes))
        except IngestError as exc:
            log.warning("Could not ingest %s: %s", redact_credentials(source), exc.user_message)
            results.append(exc)
        except Exception as exc:  # one bad source must not stop the batch
            shown = redact_credentials(source)
            log.exception("Unexpected error while ingesting %s", shown)
            results.append(IngestError(f"Cannot add {shown}: unexpected error ({exc.__class__.__name__})."))
    return results
