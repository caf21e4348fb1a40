"""Index generations on disk: manifest, FAISS vectors, passages (SQLite), BM25; atomic switch.

Layout of the index folder:
    CURRENT                 the name of the live generation (replaced atomically)
    .build.lock             held by the one build allowed at a time (across processes)
    generations/<name>/     manifest.json, vectors.faiss, embeddings.npy, passages.sqlite, bm25/,
                            the centring files and the token vectors (token_*.npy)

A build writes a new generation folder completely, checks it, then replaces CURRENT. A crash at
any point leaves CURRENT naming the previous, complete generation. Loading verifies every file
against the checksums in the manifest before FAISS or SQLite reads it. Nothing is pickled.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import platform
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from bot.core.index.centring import centre, raw_cosines
from bot.core.index.embedder import TokenVectors
from bot.core.index.lexical import LexicalIndex
from bot.core.index.tokens import FILES as TOKEN_FILES
from bot.core.index.tokens import TokenIndex
from bot.errors import (
    DimensionMismatch,
    DiskFull,
    IndexCorrupt,
    IndexFolderProblem,
    IndexMissing,
    ModelMismatch,
)
from bot.models import Article, ArticleInfo, Passage

log = logging.getLogger(__name__)

# 2: passages record their paragraph. 3: one vector per passage; BM25 terms without translations.
FORMAT = 3
CURRENT = "CURRENT"
GENERATIONS = "generations"
MANIFEST = "manifest.json"
KEEP_GENERATIONS = 2
# The per-language centring of the FAISS vectors (centring.py): row norms, mean index, means.
CENTRING_FILES = ("centring_norms.npy", "centring_rows.npy", "centring_means.npy")


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape the index, recorded in the manifest."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("newsbot", "faiss-cpu", "sentence-transformers", "torch", "bm25s", "numpy"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "absent"
    return out


# The type each manifest field must have when present ("files" is checked more closely below).
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "generation": str,
    "model": str,
    "dimension": int,
    "faiss_index": str,
    "settings": dict,
    "corpus_fingerprint": str,
    "articles": dict,
    "passages": int,
    "embedding_keys": list,
    "skipped_checksums": dict,
    "translated": int,
}
_REQUIRED = ("model", "dimension", "articles", "passages", "embedding_keys")


def _manifest_problem(manifest: object) -> str | None:
    """What is wrong with a parsed manifest's shape, or None when every field has its type."""
    if not isinstance(manifest, dict):
        return "it is not a JSON object"
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("size"), int) and isinstance(v.get("sha256"), str)
        for v in files.values()
    ):
        return "its field 'files' is not a table of sizes and checksums"
    for key in _REQUIRED:
        if key not in manifest:
            return f"its field {key!r} is missing"
    for key, kind in _FIELD_TYPES.items():
        value = manifest.get(key)
        # bool is an int in Python; true/false is never a valid count or dimension.
        if key in manifest and (not isinstance(value, kind) or isinstance(value, bool)):
            return f"its field {key!r} has the wrong type"
    for key in ("articles", "skipped_checksums"):
        table = manifest.get(key, {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
            return f"its field {key!r} is not a table of checksums"
    if not all(isinstance(k, str) for k in manifest["embedding_keys"]):
        return "its field 'embedding_keys' is not a list of strings"
    if manifest["dimension"] <= 0 or manifest["passages"] < 0:
        return "its counts are out of range"
    return None


def is_disk_full(exc: BaseException) -> bool:
    """Whether an error raised while writing means the disk (or the quota) is full."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    if isinstance(exc, sqlite3.OperationalError) and "disk is full" in text:
        return True
    # FAISS reports a short fwrite as RuntimeError "write error in ...: ... (No space left on device)".
    return isinstance(exc, RuntimeError) and ("no space left" in text or "disk quota" in text)


def choose_faiss_index(kind: str, n: int, threshold: int) -> str:
    """The FAISS index type for `n` vectors: exact below `threshold`, HNSW above, unless configured."""
    if kind != "auto":
        return kind
    return "hnsw" if n >= threshold else "flat"


def make_faiss_index(vectors: np.ndarray, kind: str):
    """A FAISS inner-product index over unit vectors (`flat` exact, `hnsw` approximate)."""
    import faiss

    dim = vectors.shape[1]
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        # The retriever asks for 100 candidates: 128 keeps their recall near 0.96 (benchmarks/scale.py).
        index.hnsw.efSearch = 128
    else:
        raise ValueError(f"unknown FAISS index type {kind!r} (use auto, flat or hnsw)")
    if len(vectors):
        index.add(vectors)
    return index


@dataclass
class Generation:
    """One loaded generation: everything needed to answer, read-only once loaded."""

    path: Path
    manifest: dict
    faiss_index: object
    lexical: LexicalIndex
    passages: list[Passage]
    articles: dict[str, ArticleInfo]
    # FAISS row -> passage row: a passage may have a second vector (its translation).
    row_map: np.ndarray
    # (norms, mean index, means) of the per-language centring of the FAISS vectors (centring.py);
    # None for a generation written before it, whose FAISS vectors are the raw ones.
    centring: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    # Each passage's token vectors, for the late-interaction re-ranking (search/rerank.py); None for
    # a generation written before it, which is ranked without re-reading.
    token_index: TokenIndex | None = None

    @property
    def name(self) -> str:
        """The generation's folder name."""
        return self.path.name

    # (article, paragraph) -> its passages' rows in reading order, for citations.
    _paragraphs: dict[tuple[str, int], tuple[int, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        groups: dict[tuple[str, int], list[int]] = {}
        for row, p in enumerate(self.passages):
            groups.setdefault((p.article_id, p.paragraph), []).append(row)
        self._paragraphs = {
            k: tuple(sorted(rows, key=lambda r: self.passages[r].position)) for k, rows in groups.items()
        }

    def __len__(self) -> int:
        return len(self.passages)

    def paragraph_rows(self, article_id: str, paragraph: int) -> tuple[int, ...]:
        """The rows of one paragraph of an article, in reading order (empty when there is none)."""
        return self._paragraphs.get((article_id, paragraph), ())

    def paragraph(self, row: int) -> list[Passage]:
        """The passages of the paragraph that passage `row` belongs to, in reading order."""
        p = self.passages[row]
        return [self.passages[r] for r in self._paragraphs[(p.article_id, p.paragraph)]]

    def search_dense(self, query: np.ndarray, k: int) -> list[dict[int, tuple[float, float]]]:
        """For each query vector, up to k passages with (score, cosine): the centred cosine the
        ranking uses and the raw cosine abstention reads (max over a passage's vectors)."""
        k = min(k * 2, self.faiss_index.ntotal)
        if k == 0:
            return [{} for _ in range(len(query))]
        query = np.ascontiguousarray(query, dtype=np.float32)
        scores, rows = self.faiss_index.search(query, k)
        out: list[dict[int, tuple[float, float]]] = []
        for q, qs, qr in zip(query, scores, rows, strict=True):
            found = qr >= 0
            qs, qr = qs[found], qr[found]
            raw = qs if self.centring is None else raw_cosines(qs, qr, q, *self.centring)
            best: dict[int, tuple[float, float]] = {}
            for s, c, r in zip(qs, raw, qr, strict=True):
                p = int(self.row_map[r])
                old = best.get(p)
                best[p] = (max(float(s), old[0]), max(float(c), old[1])) if old else (float(s), float(c))
            out.append(best)
        return out


def _write_sqlite(
    path: Path,
    articles: list[Article],
    passages: list[Passage],
    counts: dict[str, int],
    tokens: list[list[str]],
) -> None:
    con = sqlite3.connect(path)
    try:
        con.executescript(
            """
            CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT, date TEXT, lang TEXT, url TEXT,
                                   author TEXT, checksum TEXT, passages INTEGER, source_url TEXT,
                                   added_by TEXT);
            CREATE TABLE passages (row INTEGER PRIMARY KEY, id TEXT, article_id TEXT, title TEXT,
                                   text TEXT, start INTEGER, "end" INTEGER, lang TEXT, position INTEGER,
                                   paragraph INTEGER, translation TEXT, title_translation TEXT, tokens TEXT);
            """
        )
        con.executemany(
            "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    a.id,
                    a.title,
                    a.date,
                    a.lang,
                    a.url,
                    a.author,
                    a.checksum,
                    counts.get(a.id, 0),
                    a.source_url,
                    a.added_by,
                )
                for a in articles
            ],
        )
        con.executemany(
            "INSERT INTO passages VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    i,
                    p.id,
                    p.article_id,
                    p.title,
                    p.text,
                    p.start,
                    p.end,
                    p.lang,
                    p.position,
                    p.paragraph,
                    p.translation,
                    p.title_translation,
                    " ".join(tokens[i]),
                )
                for i, p in enumerate(passages)
            ],
        )
        con.commit()
    finally:
        con.close()


def _read_sqlite(path: Path) -> tuple[list[Passage], dict[str, ArticleInfo]]:
    con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        passages = [
            Passage(
                id=r[0],
                article_id=r[1],
                title=r[2],
                text=r[3],
                start=r[4],
                end=r[5],
                lang=r[6],
                position=r[7],
                paragraph=r[8],
                translation=r[9],
                title_translation=r[10],
            )
            for r in con.execute(
                'SELECT id, article_id, title, text, start, "end", lang, position, paragraph, translation,'
                " title_translation FROM passages ORDER BY row"
            )
        ]
        # Generations written before source_url/added_by existed lack the columns: read as NULL, so
        # they still load (the next build writes them) instead of forcing every vector to be redone.
        columns = {r[1] for r in con.execute("PRAGMA table_info(articles)")}
        extra = ", ".join(c if c in columns else f"NULL AS {c}" for c in ("source_url", "added_by"))
        articles = {
            r[0]: ArticleInfo(
                id=r[0],
                title=r[1],
                date=r[2],
                lang=r[3],
                url=r[4],
                passages=r[5],
                source_url=r[6],
                added_by=r[7],
            )
            for r in con.execute(f"SELECT id, title, date, lang, url, passages, {extra} FROM articles ORDER BY id")
        }
    finally:
        con.close()
    return passages, articles


@dataclass(frozen=True)
class Reusable:
    """The parts of the previous generation a build can reuse instead of recomputing."""

    vectors: dict[str, np.ndarray]
    passages: dict[str, Passage]
    tokens: dict[str, list[str]]
    # Token vectors by embedding key, as `vectors` (a key without them is embedded again).
    token_vectors: dict[str, TokenVectors] = field(default_factory=dict)


class IndexStore:
    """The index folder: reads the live generation, writes new ones, switches atomically."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def lock_path(self) -> Path:
        """The file whose lock allows one build at a time, across processes."""
        return self.root / ".build.lock"

    def check_layout(self) -> None:
        """Raise IndexFolderProblem when a path of the index folder has the wrong kind."""
        # Checked up front: otherwise they surface as raw IsADirectoryError / NotADirectoryError
        # deep inside a build or a load. Nothing is removed: the operator decides.
        if self.root.exists() and not self.root.is_dir():
            raise IndexFolderProblem(
                str(self.root), "it is a file, not a folder; move it away or choose another index path"
            )
        for name, want in ((CURRENT, "file"), (".build.lock", "file"), (GENERATIONS, "folder")):
            path = self.root / name
            if not path.exists() and not path.is_symlink():
                continue
            if (want == "file") == path.is_dir():
                other = "folder" if want == "file" else "file"
                raise IndexFolderProblem(
                    str(self.root), f"{name} is a {other}, not a {want}; remove it and run: python -m bot index"
                )

    def current_name(self) -> str | None:
        """The name of the live generation, or None when there is none."""
        self.check_layout()
        try:
            name = (self.root / CURRENT).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError):
            raise IndexCorrupt(str(self.root), f"{CURRENT} is unreadable") from None
        # A generation name is a plain folder name: anything else is damage, not a path to follow.
        if name and (("/" in name) or name.startswith(".") or not name.isprintable()):
            raise IndexCorrupt(str(self.root), f"{CURRENT} does not name a generation")
        return name or None

    def current_path(self) -> Path | None:
        """The folder of the live generation, or None."""
        name = self.current_name()
        return self.root / GENERATIONS / name if name else None

    def read_manifest(self, path: Path | None = None) -> dict:
        """The manifest of a generation (the live one by default); raises IndexMissing/IndexCorrupt."""
        path = path or self.current_path()
        if path is None:
            raise IndexMissing(str(self.root))
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IndexCorrupt(str(self.root), f"{path.name}/{MANIFEST} is missing") from None
        except (json.JSONDecodeError, UnicodeDecodeError, OSError):
            raise IndexCorrupt(str(self.root), f"{path.name}/{MANIFEST} is not valid JSON") from None
        if isinstance(manifest, dict) and manifest.get("format") != FORMAT:
            # Checked first: an older format is an upgrade to rebuild, not damage.
            raise IndexCorrupt(str(self.root), f"index format {manifest.get('format')!r} is not {FORMAT}")
        problem = _manifest_problem(manifest)
        if problem is not None:
            raise IndexCorrupt(str(self.root), f"{path.name}/{MANIFEST} is not a valid manifest: {problem}")
        return manifest

    def verify(self, path: Path, manifest: dict) -> None:
        """Check every file of a generation against the manifest's size and checksum."""
        for name, expected in manifest.get("files", {}).items():
            file = path / name
            if not file.exists():
                raise IndexCorrupt(str(self.root), f"{name} is missing")
            if file.stat().st_size != expected["size"]:
                raise IndexCorrupt(str(self.root), f"{name} has the wrong size (truncated?)")
            if sha256_file(file) != expected["sha256"]:
                raise IndexCorrupt(str(self.root), f"{name} does not match its checksum")

    def load(self, model_name: str, mmap: bool = False, dimension: int | None = None) -> Generation:
        """Load the live generation after checking it (and that its vectors have `dimension`, the
        model's, when given); raises a BotError saying how to fix it."""
        path = self.current_path()
        if path is None or not path.exists():
            raise IndexMissing(str(self.root))
        manifest = self.read_manifest(path)
        if manifest.get("model") != model_name:
            raise ModelMismatch(manifest.get("model", "?"), model_name)
        if dimension is not None and manifest["dimension"] != dimension:
            # A model folder replaced at the same path: same name, other vectors.
            raise DimensionMismatch(manifest["dimension"], dimension, model_name)
        self.verify(path, manifest)
        import faiss

        try:
            # MMAP_IFC maps the vectors from the file (shared between processes, not copied); plain
            # IO_FLAG_MMAP still copies them in FAISS 1.15 (benchmarks/memory.py).
            flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0
            index = faiss.read_index(str(path / "vectors.faiss"), flags)
            lexical = LexicalIndex.load(path / "bm25")
            passages, articles = _read_sqlite(path / "passages.sqlite")
            row_map = np.load(path / "row_map.npy", allow_pickle=False)
            centring = None
            if all(name in manifest.get("files", {}) for name in CENTRING_FILES):
                norms, which, means = (np.load(path / name, allow_pickle=False) for name in CENTRING_FILES)
                centring = (norms, which, means)
            token_index = None
            if all(name in manifest.get("files", {}) for name in TOKEN_FILES):
                token_index = TokenIndex.load(path, len(row_map), mmap=mmap)
        except (RuntimeError, OSError, ValueError, sqlite3.DatabaseError, KeyError) as exc:
            raise IndexCorrupt(str(self.root), f"{exc.__class__.__name__}: {exc}") from exc
        if (
            index.ntotal != len(row_map)
            or index.d != manifest.get("dimension")
            or (len(row_map) and int(row_map.max()) >= len(passages))
        ):
            raise IndexCorrupt(str(self.root), "vectors and passages do not match")
        if centring is not None and (
            centring[0].shape != (index.ntotal,)
            or centring[1].shape != (index.ntotal,)
            or centring[2].ndim != 2
            or centring[2].shape[1] != index.d
            or (index.ntotal and not 0 <= int(centring[1].min()) <= int(centring[1].max()) < len(centring[2]))
        ):
            raise IndexCorrupt(str(self.root), "the centring files do not match the vectors")
        return Generation(path, manifest, index, lexical, passages, articles, row_map, centring, token_index)

    def load_reusable(self, path: Path, manifest: dict) -> Reusable:
        """What a generation lets the next build reuse: vectors by embedding key, passages and their
        BM25 tokens by passage id."""
        try:
            self.verify(path, manifest)
            vectors = np.load(path / "embeddings.npy", allow_pickle=False)
            keys = manifest["embedding_keys"]
            token_index = None
            if all(name in manifest.get("files", {}) for name in TOKEN_FILES):
                # Mapped, and reused as stored (int8): an update does not hold every passage's tokens
                # in memory as floats.
                token_index = TokenIndex.load(path, len(vectors), mmap=True)
            passages, _ = _read_sqlite(path / "passages.sqlite")
            con = sqlite3.connect(f"file:{path / 'passages.sqlite'}?mode=ro&immutable=1", uri=True)
            try:
                tokens = {pid: (t or "").split() for pid, t in con.execute("SELECT id, tokens FROM passages")}
            finally:
                con.close()
        except Exception as exc:  # a damaged previous generation only means re-embedding everything
            log.warning("Previous generation not reusable (%s): embedding everything again", exc)
            return Reusable({}, {}, {})
        if len(keys) != len(vectors):
            return Reusable({}, {}, {})
        by_key = dict(zip(keys, vectors, strict=True))
        token_vectors = {k: token_index.stored_row(j) for j, k in enumerate(keys)} if token_index else {}
        return Reusable(by_key, {p.id: p for p in passages}, tokens, token_vectors)

    def write(
        self,
        *,
        articles: list[Article],
        passages: list[Passage],
        vectors: np.ndarray,
        row_map: np.ndarray,
        embedding_keys: list[str],
        lexical: LexicalIndex,
        tokens: list[list[str]],
        token_index: TokenIndex,
        model_name: str,
        settings_record: dict,
        faiss_kind: str,
        corpus_fingerprint: str,
        extra: dict | None = None,
        on_written=None,
    ) -> Path:
        """Write a complete new generation and make it live; returns its folder."""
        gens = self.root / GENERATIONS
        gens.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc)
        name = f"g-{stamp.strftime('%Y%m%dT%H%M%S%f')}-{corpus_fingerprint[:8]}"
        tmp = gens / f".tmp-{name}"
        tmp.mkdir()
        try:
            final = self._write_generation(
                tmp,
                name,
                stamp,
                articles=articles,
                passages=passages,
                vectors=vectors,
                row_map=row_map,
                embedding_keys=embedding_keys,
                lexical=lexical,
                tokens=tokens,
                token_index=token_index,
                model_name=model_name,
                settings_record=settings_record,
                faiss_kind=faiss_kind,
                corpus_fingerprint=corpus_fingerprint,
                extra=extra,
            )
        except BaseException as exc:
            # A failed build must not keep its partial folder: on a full disk it is what keeps it full.
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(exc, Exception) and is_disk_full(exc):
                raise DiskFull(str(self.root)) from exc
            raise
        if on_written is not None:
            on_written(final)  # a hook for tests that simulate a crash before the switch
        try:
            self._switch(name)
        except OSError as exc:
            if is_disk_full(exc):
                raise DiskFull(str(self.root)) from exc
            raise
        self._prune(keep=name)
        return final

    def _write_generation(
        self,
        tmp: Path,
        name: str,
        stamp: datetime,
        *,
        articles: list[Article],
        passages: list[Passage],
        vectors: np.ndarray,
        row_map: np.ndarray,
        embedding_keys: list[str],
        lexical: LexicalIndex,
        tokens: list[list[str]],
        token_index: TokenIndex,
        model_name: str,
        settings_record: dict,
        faiss_kind: str,
        corpus_fingerprint: str,
        extra: dict | None,
    ) -> Path:
        """Write every file of a generation into `tmp`, then rename it to its final name."""
        import faiss

        gens = tmp.parent
        counts: dict[str, int] = {}
        for p in passages:
            counts[p.article_id] = counts.get(p.article_id, 0) + 1
        # FAISS holds the vectors centred per language; embeddings.npy the raw ones, for reuse.
        rows = [passages[int(r)] for r in row_map]
        centred, norms, which, means = centre(vectors, [p.lang for p in rows], [p.article_id for p in rows])
        faiss.write_index(make_faiss_index(centred, faiss_kind), str(tmp / "vectors.faiss"))
        np.save(tmp / "embeddings.npy", vectors, allow_pickle=False)
        np.save(tmp / CENTRING_FILES[0], norms, allow_pickle=False)
        np.save(tmp / CENTRING_FILES[1], which, allow_pickle=False)
        np.save(tmp / CENTRING_FILES[2], means, allow_pickle=False)
        np.save(tmp / "row_map.npy", row_map.astype(np.int64), allow_pickle=False)
        token_index.save(tmp)
        _write_sqlite(tmp / "passages.sqlite", articles, passages, counts, tokens)
        lexical.save(tmp / "bm25")
        files = {}
        for file in sorted(p for p in tmp.rglob("*") if p.is_file()):
            rel = file.relative_to(tmp).as_posix()
            files[rel] = {"size": file.stat().st_size, "sha256": sha256_file(file)}
        manifest = {
            "format": FORMAT,
            "generation": name,
            "model": model_name,
            "dimension": int(vectors.shape[1]),
            "faiss_index": faiss_kind,
            "settings": settings_record,
            "corpus_fingerprint": corpus_fingerprint,
            "articles": {a.id: a.checksum for a in articles},
            "passages": len(passages),
            "embedding_keys": embedding_keys,
            "versions": library_versions(),
            "built_at": stamp.isoformat(timespec="seconds"),
            "files": files,
            **(extra or {}),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        _fsync_tree(tmp)
        final = gens / name
        os.replace(tmp, final)
        return final

    def _switch(self, name: str) -> None:
        tmp = self.root / f".{CURRENT}.tmp"
        try:
            tmp.write_text(name + "\n", encoding="utf-8")
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, self.root / CURRENT)
        except BaseException:
            tmp.unlink(missing_ok=True)  # CURRENT itself is untouched
            raise
        log.info("Index generation %s is live", name)

    def clean_partials(self) -> list[str]:
        """Remove the partial generation folders of failed or killed builds; returns their names.

        Call it only while holding the build lock: then no other process is writing one of them.
        """
        gens = self.root / GENERATIONS
        if not gens.is_dir():
            return []
        removed = []
        for p in gens.iterdir():
            if p.name.startswith(".tmp-"):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p.name)
        (self.root / f".{CURRENT}.tmp").unlink(missing_ok=True)
        if removed:
            log.info("Removed %d partial generation(s) left by failed builds", len(removed))
        return removed

    def _prune(self, keep: str) -> None:
        """Remove partial builds and all but the newest KEEP_GENERATIONS generations (the live one and
        one previous, for a rollback).

        Deleting a generation another process still serves is safe: it read the passages and BM25
        into memory and closed SQLite; its FAISS vectors are memory-mapped, and on POSIX a mapped
        file's data stays readable until it is unmapped (test_gc.py proves it).
        """
        gens = self.root / GENERATIONS
        complete = sorted(
            (p for p in gens.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name
        )
        old = [p for p in complete[:-KEEP_GENERATIONS] if p.name != keep]
        for p in old:
            shutil.rmtree(p, ignore_errors=True)
        self.clean_partials()


def _fsync_tree(folder: Path) -> None:
    for file in folder.rglob("*"):
        if file.is_file():
            with open(file, "rb") as f:
                os.fsync(f.fileno())
