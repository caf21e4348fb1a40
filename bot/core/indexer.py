"""Building and updating the index: embed only what changed, one build at a time."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from bot.config import RetrievalSettings
from bot.core.corpus import corpus_files, file_checksum, load_corpus
from bot.core.embedder import Embedder
from bot.core.lexical import LexicalIndex, passage_tokens
from bot.core.passages import split_article
from bot.core.store import IndexStore, choose_faiss_index
from bot.errors import BotError, BuildInProgress, CorpusError
from bot.models import Passage, UpdateReport

log = logging.getLogger(__name__)


def embed_text(p: Passage) -> str:
    """What the model reads for a passage: the article's title gives it context."""
    return f"{p.title}. {p.text}"


def fingerprint(checksums: dict[str, str]) -> str:
    """One hash for the whole corpus: article ids and file checksums."""
    h = hashlib.sha256()
    for article_id in sorted(checksums):
        h.update(f"{article_id}\0{checksums[article_id]}\n".encode())
    return h.hexdigest()


def corpus_checksums(corpus_dir: Path) -> dict[str, str]:
    """Checksums of the corpus files, keyed by article id, without parsing them."""
    return {p.relative_to(corpus_dir).as_posix(): file_checksum(p) for p in corpus_files(corpus_dir)}


def settings_record(settings: RetrievalSettings) -> dict:
    """The settings that shape the vectors; a change in them means re-embedding."""
    return {"query_prefix": settings.query_prefix, "passage_prefix": settings.passage_prefix}


def is_stale(store: IndexStore, settings: RetrievalSettings) -> bool:
    """Whether the corpus changed since the live index was built (or there is no index)."""
    try:
        manifest = store.read_manifest()
    except BotError:
        return True
    indexed = dict(manifest.get("articles", {}))
    # Files skipped as unreadable were never indexed; they do not make the index stale by themselves.
    indexed.update({k: v for k, v in manifest.get("skipped_checksums", {}).items()})
    return corpus_checksums(settings.corpus_dir) != indexed


def build_index(
    settings: RetrievalSettings,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    progress: bool = False,
    on_written: Callable[[Path], None] | None = None,
) -> UpdateReport:
    """Build a new generation from the corpus, reusing the vectors of unchanged passages."""
    store = IndexStore(settings.index_dir)
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(store.lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BuildInProgress() from None
    try:
        return _build(settings, embedder, store, rebuild=rebuild, progress=progress, on_written=on_written)
    finally:
        lock.release()


def _previous(store: IndexStore, settings: RetrievalSettings, rebuild: bool) -> tuple[dict, dict]:
    """The previous manifest and its reusable vectors ({} when there is none or it must not be used)."""
    try:
        manifest = store.read_manifest()
    except BotError:
        return {}, {}
    path = store.current_path()
    reusable = (
        not rebuild
        and manifest.get("model") == settings.model
        and manifest.get("settings") == settings_record(settings)
        and path is not None
    )
    return manifest, store.load_embeddings(path, manifest) if reusable else {}


def _build(
    settings: RetrievalSettings,
    embedder: Embedder,
    store: IndexStore,
    *,
    rebuild: bool,
    progress: bool,
    on_written: Callable[[Path], None] | None,
) -> UpdateReport:
    articles, skipped = load_corpus(settings.corpus_dir)
    if not articles:
        raise CorpusError(
            f"No readable article in {settings.corpus_dir}"
            + (f" ({len(skipped)} file(s) skipped)" if skipped else "")
            + ": the current index is kept."
        )
    previous, reuse = _previous(store, settings, rebuild)
    before: dict[str, str] = previous.get("articles", {})
    passages: list[Passage] = [p for a in articles for p in split_article(a)]
    texts = [embed_text(p) for p in passages]
    keys = [hashlib.sha1(f"{settings.model}\0{settings.passage_prefix}\0{t}".encode()).hexdigest() for t in texts]
    missing = [i for i, k in enumerate(keys) if k not in reuse]
    embedder.load()
    vectors = np.zeros((len(passages), embedder.dimension), dtype=np.float32)
    for i, k in enumerate(keys):
        if k in reuse:
            vectors[i] = reuse[k]
    if missing:
        log.info("Embedding %d of %d passages", len(missing), len(passages))
        vectors[missing] = embedder.encode_passages([texts[i] for i in missing], progress=progress)
    lexical = LexicalIndex.build([passage_tokens(embed_text(p), p.lang) for p in passages])
    kind = choose_faiss_index(settings.faiss_index, len(passages), settings.hnsw_threshold)
    fp = fingerprint({a.id: a.checksum for a in articles})
    path = store.write(
        articles=articles,
        passages=passages,
        vectors=vectors,
        embedding_keys=keys,
        lexical=lexical,
        model_name=settings.model,
        settings_record=settings_record(settings),
        faiss_kind=kind,
        corpus_fingerprint=fp,
        extra={"skipped_checksums": _skipped_checksums(settings.corpus_dir, [s.path for s in skipped])},
        on_written=on_written,
    )
    now = {a.id: a.checksum for a in articles}
    return UpdateReport(
        added=tuple(sorted(set(now) - set(before))),
        changed=tuple(sorted(k for k in now if k in before and before[k] != now[k])),
        removed=tuple(sorted(set(before) - set(now))),
        passages_embedded=len(missing),
        passages_total=len(passages),
        generation=path.name,
        skipped=tuple(str(s) for s in skipped),
    )


def _skipped_checksums(corpus_dir: Path, paths: list[str]) -> dict[str, str]:
    return {p: file_checksum(corpus_dir / p) for p in paths}

