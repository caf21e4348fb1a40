"""Reading the corpus folder: Markdown, text and HTML files -> Article."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from bot.core.ingest.frontmatter import FrontMatterError
from bot.core.ingest.frontmatter import loads as read_front_matter
from bot.core.text import clean, detect_lang
from bot.errors import CorpusError, IngestError
from bot.models import Article

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
HTML_SUFFIXES = {".html", ".htm"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES
MAX_FILE_BYTES = 20_000_000


@dataclass(frozen=True)
class Skipped:
    """A corpus file that could not be read, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def _candidates(corpus_dir: Path) -> list[Path]:
    if not corpus_dir.is_dir():
        what = "is a file, not a folder" if corpus_dir.exists() else "does not exist"
        raise CorpusError(f"The corpus folder {corpus_dir} {what}.")
    files = [
        p
        for p in corpus_dir.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
    ]
    return sorted(files)


def _utf8_name(path: Path) -> bool:
    # A name that is not UTF-8 (a Latin-1 "café.md") holds surrogates: it cannot be an article id,
    # which is encoded for hashing, SQLite and Discord.
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown_name(name: str) -> str:
    """A file name printable anywhere: bytes that are not UTF-8 shown as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The article files under `corpus_dir`, sorted; hidden files and names that are not UTF-8 left out."""
    return [p for p in _candidates(corpus_dir) if _utf8_name(p)]


def links_outside(path: Path, corpus_dir: Path) -> bool:
    """True when `path` (or a folder on its way) is a symbolic link leading out of `corpus_dir`."""
    # resolve() follows every link on the way, so a linked folder is caught as well as a linked file.
    return not path.resolve().is_relative_to(corpus_dir.resolve())


def file_checksum(path: Path, corpus_dir: Path | None = None) -> str:
    """SHA-256 of a file's bytes; a link out of `corpus_dir` is hashed by its target, never read."""
    if corpus_dir is not None and links_outside(path, corpus_dir):
        return hashlib.sha256(b"link:" + str(path.resolve()).encode("utf-8", "replace")).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def first_heading(body: str) -> str | None:
    """The text of the first Markdown heading, if any."""
    m = re.search(r"^\s*#{1,6}\s+(.+?)\s*#*\s*$", body, re.MULTILINE)
    return m.group(1).strip() if m else None


def _strip_markdown(body: str) -> str:
    # Headings keep their words (they carry meaning) but lose the markers; links keep their label.
    body = re.sub(r"^\s*#{1,6}\s+", "", body, flags=re.MULTILINE)
    body = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", body)
    body = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", body)
    body = re.sub(r"(\*\*|__)(.+?)\1", r"\2", body)
    return body


def read_article(path: Path, corpus_dir: Path) -> Article:
    """Read one article file; raises IngestError with the reason when it cannot be read."""
    article_id = path.relative_to(corpus_dir).as_posix()
    if links_outside(path, corpus_dir):
        # A link to a system file must not get indexed and quoted to every member.
        raise IngestError("it is a symbolic link to a file outside the corpus folder; not read")
    too_big = IngestError(f"the file is larger than {MAX_FILE_BYTES // 1_000_000} MB")
    if path.stat().st_size > MAX_FILE_BYTES:  # not read first: a 200 MB file would be held in memory
        raise too_big
    raw = path.read_bytes()
    if len(raw) > MAX_FILE_BYTES:  # it grew since
        raise too_big
    if b"\x00" in raw[:4096]:
        raise IngestError("the file is binary, not text")
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"the file is not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc
    meta: dict = {}
    if path.suffix.lower() in HTML_SUFFIXES:
        from bot.core.ingest.extract import extract_html

        page = extract_html(content)
        body, title = page.text, page.title
        meta = {"date": page.date, "author": page.author}
    else:
        try:
            meta, body = read_front_matter(content)
        except FrontMatterError as exc:
            raise IngestError(f"its front matter is refused: {exc}") from exc
        title = meta.get("title") or first_heading(body)
        if path.suffix.lower() != ".txt":
            body = _strip_markdown(body)
    # The article's own characters are kept (’, nbsp, « »): citations quote them exactly, so a quote
    # can be found in the article with a browser's search. Matching normalises (bot.core.text.clean).
    body = body.strip()
    if not body:
        raise IngestError("the file has no text")
    if not title:
        first_line = body.splitlines()[0].strip()
        title = first_line if len(first_line) <= 120 else path.stem.replace("-", " ").replace("_", " ")
    lang = str(meta.get("lang") or "").lower()[:2]
    if lang not in ("fr", "en"):
        lang = detect_lang(clean(body[:2000]))

    def opt(key: str) -> str | None:
        value = meta.get(key)
        return str(value) if value not in (None, "") else None

    return Article(
        id=article_id,
        title=clean(str(title)).strip(),
        text=body,
        lang=lang,  # type: ignore[arg-type]
        checksum=hashlib.sha256(raw).hexdigest(),
        date=opt("date"),
        url=opt("url"),
        author=opt("author"),
        source_url=opt("source_url") or opt("url"),
        added_by=opt("added_by"),
    )


def load_corpus(corpus_dir: Path) -> tuple[list[Article], list[Skipped]]:
    """Every readable article of the corpus, and the files skipped with their reason."""
    articles: list[Article] = []
    skipped: list[Skipped] = []
    for path in _candidates(corpus_dir):
        rel = path.relative_to(corpus_dir).as_posix()
        if not _utf8_name(path):
            rel = shown_name(rel)
            reason = "its name is not valid UTF-8; rename it"
            log.warning("Skipped %s: %s", rel, reason)
            skipped.append(Skipped(rel, reason))
            continue
        try:
            articles.append(read_article(path, corpus_dir))
        except (IngestError, OSError) as exc:
            reason = exc.user_message if isinstance(exc, IngestError) else str(exc)
            log.warning("Skipped %s: %s", rel, reason)
            skipped.append(Skipped(rel, reason))
    return articles, skipped
