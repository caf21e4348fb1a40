"""Building and updating the index: embed only what changed, one build at a time."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from bot.config import RetrievalSettings
from bot.core.index.embedder import Embedder, TokenVectors
from bot.core.index.lexical import LexicalIndex, passage_terms
from bot.core.index.store import IndexStore, Reusable, choose_faiss_index
from bot.core.index.tokens import TokenIndex, quantise
from bot.core.ingest.corpus import corpus_files, file_checksum, load_corpus
from bot.core.ingest.passages import TEXT_VERSION, split_article
from bot.core.text import clean, sentence_spans
from bot.core.translate.apertium import translate
from bot.errors import BotError, BuildInProgress, CorpusError
from bot.models import Article, Passage, UpdateReport

log = logging.getLogger(__name__)
# How many times a build updates again when the corpus changed while it ran.
MAX_CATCH_UP = 3


def embed_text(p: Passage) -> str:
    """What the model reads for a passage: the article's title gives it context.

    Without the title, dense hit@1 fell from 0.76 to 0.65 on dev2 (and 0.77 to 0.64 on
    benchmarks/heldout): a passage rarely names the subject its article is about.
    """
    # Normalised for matching only: the passage keeps the article's characters for citations.
    return clean(f"{p.title}. {p.text}")


def fingerprint(checksums: dict[str, str]) -> str:
    """One hash for the whole corpus: article ids and file checksums."""
    h = hashlib.sha256()
    for article_id in sorted(checksums):
        h.update(f"{article_id}\0{checksums[article_id]}\n".encode())
    return h.hexdigest()


def corpus_checksums(corpus_dir: Path) -> dict[str, str]:
    """Checksums of the corpus files, keyed by article id, without parsing them (unreadable ones left out)."""
    out = {}
    for p in corpus_files(corpus_dir):
        checksum = _checksum_or_none(p, corpus_dir)
        if checksum is not None:
            out[p.relative_to(corpus_dir).as_posix()] = checksum
    return out


def _checksum_or_none(path: Path, corpus_dir: Path) -> str | None:
    # A file can vanish or be unreadable between listing and reading; it is then simply not there.
    try:
        return file_checksum(path, corpus_dir)
    except OSError:
        return None


def settings_record(settings: RetrievalSettings) -> dict:
    """The settings that shape the vectors; a change in them means re-embedding."""
    return {
        "query_prefix": settings.query_prefix,
        "passage_prefix": settings.passage_prefix,
        "translate": settings.translate,
        # Passages of another text version are split and stored again (an old index rebuilds).
        "passage_text": TEXT_VERSION,
        # The FAISS vectors are centred per language (index/centring.py); older indexes rebuild.
        "dense": "centred per language",
        # The token vectors of each passage are stored for the re-ranking (search/rerank.py).
        "rerank": "late interaction, int8 token vectors",
    }


def is_stale(store: IndexStore, settings: RetrievalSettings, dimension: int | None = None) -> bool:
    """Whether the corpus changed since the live index was built (or there is no index, or its
    vectors do not have `dimension`, the model's, when given)."""
    try:
        manifest = store.read_manifest()
    except BotError:
        return True
    if manifest.get("model") != settings.model or manifest.get("settings") != settings_record(settings):
        return True
    if dimension is not None and manifest["dimension"] != dimension:
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
    store.check_layout()
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(store.lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BuildInProgress() from None
    try:
        # Under the lock, so nothing removed here is being written by another build right now.
        clean_leftovers(store, settings.corpus_dir)
        report = _build(settings, embedder, store, rebuild=rebuild, progress=progress, on_written=on_written)
        # An article added while this build ran (an ingest from another process or command) would
        # otherwise wait for the next build: catch up now, embedding only what changed.
        for _ in range(MAX_CATCH_UP):
            if not is_stale(store, settings):
                break
            log.info("The corpus changed during the build: updating again")
            later = _build(settings, embedder, store, rebuild=False, progress=progress, on_written=None)
            report = merge_reports(report, later)
        return report
    finally:
        lock.release()


def clean_leftovers(store: IndexStore, corpus_dir: Path) -> None:
    """Remove what killed builds and ingests left behind: partial generations, `.ingest-*.tmp` files.

    The caller holds the build lock; the ingest temp files are only removed while the ingest lock
    is free, so an ingest writing one right now keeps it.
    """
    from bot.core.ingest.add import LOCK_NAME

    store.clean_partials()
    leftovers = [p for p in corpus_dir.glob(".ingest-*.tmp") if p.is_file() and not p.is_symlink()]
    if not leftovers:
        return  # the usual case: the corpus folder (perhaps read-only) is not touched
    lock = FileLock(str(corpus_dir / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except (Timeout, OSError):
        return
    try:
        for tmp in leftovers:
            tmp.unlink(missing_ok=True)
            log.info("Removed %s, left by an interrupted ingest", tmp.name)
    finally:
        lock.release()


def merge_reports(first: UpdateReport, second: UpdateReport) -> UpdateReport:
    """One report for two builds in a row."""

    def union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted(set(a) | set(b)))

    return UpdateReport(
        added=union(first.added, second.added),
        changed=tuple(sorted((set(first.changed) | set(second.changed)) - set(first.added))),
        removed=union(first.removed, second.removed),
        passages_embedded=first.passages_embedded + second.passages_embedded,
        passages_total=second.passages_total,
        generation=second.generation,
        skipped=second.skipped,
    )


def _previous(
    store: IndexStore, settings: RetrievalSettings, rebuild: bool, dimension: int
) -> tuple[dict, Reusable]:
    """The previous manifest and what can be reused from it (nothing on --rebuild, other settings or
    vectors of another dimension)."""
    nothing = Reusable({}, {}, {})
    try:
        manifest = store.read_manifest()
    except BotError:
        return {}, nothing
    path = store.current_path()
    same = manifest.get("model") == settings.model and manifest.get("settings") == settings_record(settings)
    if same and manifest["dimension"] != dimension:
        # The model folder was replaced by one of another size: its old vectors cannot be mixed in.
        log.warning(
            "The index holds %d-dimensional vectors but the model now makes %d-dimensional ones:"
            " embedding everything again",
            manifest["dimension"],
            dimension,
        )
        same = False
    if rebuild or path is None or not same:
        return manifest, nothing
    return manifest, store.load_reusable(path, manifest)


def _passages(
    articles: list[Article], before: dict[str, str], old: Reusable
) -> tuple[list[Passage], set[str]]:
    """The passages of every article, those of unchanged articles taken from the previous build
    (splitting is the costliest step of an update); also the ids of the reused ones."""
    old_by_article: dict[str, list[Passage]] = {}
    for p in old.passages.values():
        old_by_article.setdefault(p.article_id, []).append(p)
    passages: list[Passage] = []
    reused: set[str] = set()
    for a in articles:
        kept = old_by_article.get(a.id)
        if kept and before.get(a.id) == a.checksum and all(p.id in old.tokens for p in kept):
            kept = sorted(kept, key=lambda p: p.position)
            passages.extend(kept)
            reused.update(p.id for p in kept)
        else:
            passages.extend(split_article(a))
    return passages, reused


def _translate(passages: list[Passage], previous: dict[str, Passage], enabled: bool) -> list[Passage]:
    """Each passage with its translation into the other language, reusing the previous build's."""
    if not enabled:
        return passages
    out = list(passages)
    todo: dict[tuple[str, str], list[int]] = {}
    for i, p in enumerate(passages):
        old = previous.get(p.id)
        if old is not None and old.translation is not None and old.title == p.title:
            out[i] = replace(p, translation=old.translation, title_translation=old.title_translation)
        else:
            todo.setdefault((p.lang, "en" if p.lang == "fr" else "fr"), []).append(i)
    for (src, dst), rows in todo.items():
        # Sentence by sentence, so that the answer step can match a question to one sentence.
        items: list[str] = []
        counts: list[int] = []
        for i in rows:
            plain = clean(passages[i].text)
            sentences = [plain[a:b] for a, b in sentence_spans(plain, src)] or [plain]
            items.append(passages[i].title)
            items.extend(sentences)
            counts.append(len(sentences))
        log.info("Translating %d passages %s->%s", len(rows), src, dst)
        result = translate(items, src, dst)  # type: ignore[arg-type]
        if result is None:
            continue
        pos = 0
        for i, n in zip(rows, counts, strict=True):
            title, sentences = result[pos], result[pos + 1 : pos + 1 + n]
            pos += 1 + n
            out[i] = replace(passages[i], translation="\n".join(sentences), title_translation=title)
    return out


def _embed_missing(
    embedder: Embedder, texts: dict[str, str], known: Reusable, progress: bool
) -> dict[str, tuple[np.ndarray, TokenVectors]]:
    """Vectors and token vectors of the texts (by key) that `known` does not have both of yet."""
    todo = [(k, t) for k, t in texts.items() if k not in known.vectors or k not in known.token_vectors]
    if not todo:
        return {}
    log.info("Embedding %d texts", len(todo))
    vectors, tokens = embedder.encode_passages_with_tokens([t for _, t in todo], progress=progress)
    # Quantised at once, as they are stored: a large build holds them in int8, not float16.
    return {
        k: (v, TokenVectors(t.ids, quantise(t.vectors))) for (k, _), v, t in zip(todo, vectors, tokens, strict=True)
    }


def lexical_tokens(p: Passage) -> list[str]:
    """What BM25 indexes for a passage: the terms of its title and text, in its own language."""
    return passage_terms(embed_text(p), p.lang)


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
    embedder.load()
    previous, old = _previous(store, settings, rebuild, embedder.dimension)
    before: dict[str, str] = previous.get("articles", {})
    passages, reused = _passages(articles, before, old)

    def key(text: str) -> str:
        return hashlib.sha1(f"{settings.model}\0{settings.passage_prefix}\0{text}".encode()).hexdigest()

    # Apertium (optional: translations are only shown to readers of the other language) runs in its
    # own processes, while the passages are embedded.
    result: dict[str, list[Passage] | BaseException] = {}

    def translate_all(to_translate: list[Passage]) -> None:
        try:
            result["passages"] = _translate(to_translate, old.passages, settings.translate != "off")
        except BaseException as exc:  # handed to the build's thread below
            result["error"] = exc

    # A daemon thread: after an embedding error neither the build nor the process waits for Apertium.
    worker = threading.Thread(target=translate_all, args=(passages,), name="translate", daemon=True)
    worker.start()
    texts = [embed_text(p) for p in passages]
    keys = [key(t) for t in texts]
    fresh = _embed_missing(embedder, dict(zip(keys, texts, strict=True)), old, progress)
    worker.join()
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    passages = result["passages"]  # type: ignore[assignment]
    row_map = list(range(len(passages)))  # one vector per passage
    vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    token_vectors: list[TokenVectors] = []
    for j, k in enumerate(keys):
        vectors[j], t = fresh[k] if k in fresh else (old.vectors[k], old.token_vectors[k])
        token_vectors.append(t)
    missing = [j for j, k in enumerate(keys) if k in fresh]
    tokens = [old.tokens[p.id] if p.id in reused else lexical_tokens(p) for p in passages]
    lexical = LexicalIndex.build(tokens)
    kind = choose_faiss_index(settings.faiss_index, len(texts), settings.hnsw_threshold)
    fp = fingerprint({a.id: a.checksum for a in articles})
    path = store.write(
        articles=articles,
        passages=passages,
        vectors=vectors,
        row_map=np.asarray(row_map, dtype=np.int64),
        embedding_keys=keys,
        lexical=lexical,
        tokens=tokens,
        token_index=TokenIndex.from_texts(token_vectors),
        model_name=settings.model,
        settings_record=settings_record(settings),
        faiss_kind=kind,
        corpus_fingerprint=fp,
        extra={
            "skipped_checksums": _skipped_checksums(settings.corpus_dir, [s.path for s in skipped]),
            "translated": sum(1 for p in passages if p.translation),
        },
        on_written=on_written,
    )
    now = {a.id: a.checksum for a in articles}
    return UpdateReport(
        added=tuple(sorted(set(now) - set(before))),
        changed=tuple(sorted(k for k in now if k in before and before[k] != now[k])),
        removed=tuple(sorted(set(before) - set(now))),
        passages_embedded=len({row_map[j] for j in missing}),
        passages_total=len(passages),
        generation=path.name,
        skipped=tuple(str(s) for s in skipped),
    )


def _skipped_checksums(corpus_dir: Path, paths: list[str]) -> dict[str, str]:
    checksums = {p: _checksum_or_none(corpus_dir / p, corpus_dir) for p in paths}
    return {p: c for p, c in checksums.items() if c is not None}
