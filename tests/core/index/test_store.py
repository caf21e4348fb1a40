"""Index generations on disk: round trip, no pickle, damage detected, atomic switch, failed builds."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bot.config import BUNDLED_MODEL
from bot.core.index.build import build_index, fingerprint
from bot.core.index.store import GENERATIONS, KEEP_GENERATIONS, MANIFEST, IndexStore, sha256_file
from bot.core.ingest.corpus import load_corpus
from bot.core.ingest.passages import split_article
from bot.errors import IndexCorrupt, IndexMissing, ModelMismatch

OPENAI_AMD = "openai-amd.md"
SHARES_Q = "Sur combien d'actions porte l'option d'achat d'OpenAI ?"


def edit_fact(path: Path, old: str, new: str) -> None:
    """Replace a fact in a corpus file."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


class Crash(Exception):
    """Stands for the process dying at a given point of a build."""


@pytest.fixture
def built(indexed_settings):
    """Settings whose index is built from the dev corpus, and the (store's view of the) build."""
    s = indexed_settings
    gen = IndexStore(s.index_dir).load(s.model)
    return s, SimpleNamespace(generation=gen.name, passages_total=len(gen))


def live_path(s) -> Path:
    path = IndexStore(s.index_dir).current_path()
    assert path is not None and path.is_dir()
    return path


def test_build_then_load_round_trip(built, embedder):
    s, report = built
    store = IndexStore(s.index_dir)
    gen = store.load(s.model)
    articles, skipped = load_corpus(s.corpus_dir)
    expected = [p for a in articles for p in split_article(a)]

    # Translations are added at build time (when Apertium is installed); the rest must be identical.
    assert [replace(p, translation=None, title_translation=None) for p in gen.passages] == expected
    assert len(gen) == report.passages_total == len(expected)
    # One vector per passage, plus one per French passage for its English translation.
    assert gen.faiss_index.ntotal == len(gen.row_map) >= len(expected)
    assert sorted(set(gen.row_map.tolist())) == list(range(len(expected)))
    assert gen.faiss_index.d == embedder.dimension
    assert gen.name == report.generation == store.current_name()
    assert sorted(gen.articles) == sorted(a.id for a in articles)
    for a in articles:
        info = gen.articles[a.id]
        assert info.title == a.title and info.lang == a.lang and info.date == a.date
        assert info.passages == sum(p.article_id == a.id for p in expected)

    m = gen.manifest
    assert m["model"] == BUNDLED_MODEL == s.model
    assert m["dimension"] == embedder.dimension == 384
    assert m["corpus_fingerprint"] == fingerprint({a.id: a.checksum for a in articles})
    assert m["articles"] == {a.id: a.checksum for a in articles}
    assert m["passages"] == len(expected)
    assert {"python", "faiss-cpu", "sentence-transformers", "numpy", "bm25s"} <= set(m["versions"])
    assert datetime.fromisoformat(m["built_at"]).tzinfo is not None
    assert len(m["embedding_keys"]) == len(gen.row_map)

    # Every file of the generation (but the manifest) is listed with its real size and checksum.
    on_disk = {
        p.relative_to(gen.path).as_posix() for p in gen.path.rglob("*") if p.is_file() and p.name != MANIFEST
    }
    assert set(m["files"]) == on_disk
    assert {"vectors.faiss", "embeddings.npy", "passages.sqlite"} <= on_disk
    for name, entry in m["files"].items():
        assert entry["size"] == (gen.path / name).stat().st_size
        assert entry["sha256"] == sha256_file(gen.path / name)

    # Loading twice gives the same thing: the dense search finds a passage's own vector, and the
    # raw cosine it reports (recovered from the centred one) is 1 for it.
    vectors = np.load(gen.path / "embeddings.npy", allow_pickle=False)
    results = gen.search_dense(vectors[:3], len(gen))
    for row, best in enumerate(results):
        own = int(gen.row_map[row])
        assert max(best, key=lambda r: best[r][1]) == own
        assert abs(best[own][1] - 1.0) < 1e-4


def test_generation_files_are_json_numpy_faiss_sqlite_only(built):
    s, _ = built
    path = live_path(s)
    files = [p for p in path.rglob("*") if p.is_file()]
    assert files
    for f in files:
        assert f.suffix in {".json", ".npy", ".faiss", ".sqlite"}, f"unexpected file {f.name}"
        if f.suffix == ".npy":
            arr = np.load(f, allow_pickle=False)  # would raise on an object (pickled) array
            assert arr.dtype != object
        elif f.suffix == ".json":
            json.loads(f.read_text(encoding="utf-8"))
        elif f.suffix == ".sqlite":
            con = sqlite3.connect(f"file:{f}?mode=ro", uri=True)
            try:
                assert con.execute("SELECT count(*) FROM passages").fetchone()[0] > 0
            finally:
                con.close()
    vectors = np.load(path / "embeddings.npy", allow_pickle=False)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_truncated_faiss_file_is_index_corrupt(built):
    s, _ = built
    faiss_file = live_path(s) / "vectors.faiss"
    data = faiss_file.read_bytes()
    faiss_file.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorrupt) as info:
        IndexStore(s.index_dir).load(s.model)
    message = info.value.user_message
    assert "vectors.faiss" in message
    assert "rebuild" in message.lower() and "python -m bot index --rebuild" in message


def test_deleted_sqlite_is_index_corrupt(built):
    s, _ = built
    (live_path(s) / "passages.sqlite").unlink()
    with pytest.raises(IndexCorrupt) as info:
        IndexStore(s.index_dir).load(s.model)
    assert "passages.sqlite" in info.value.user_message and "rebuild" in info.value.user_message


def test_missing_manifest_is_index_corrupt(built):
    s, _ = built
    (live_path(s) / MANIFEST).unlink()
    with pytest.raises(IndexCorrupt):
        IndexStore(s.index_dir).load(s.model)


def test_flipped_byte_is_caught_by_checksum_and_warm_up_rebuilds(built, pipeline):
    s, _ = built
    store = IndexStore(s.index_dir)
    damaged_generation = store.current_name()
    faiss_file = live_path(s) / "vectors.faiss"
    data = bytearray(faiss_file.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the vector data: FAISS itself would load it happily
    faiss_file.write_bytes(bytes(data))
    assert faiss_file.stat().st_size == len(data)

    with pytest.raises(IndexCorrupt) as info:
        store.load(s.model)
    assert "checksum" in info.value.user_message

    p = pipeline(s)
    report = p.warm_up()
    assert report is not None, "warm_up must say that it rebuilt the damaged index"
    assert report.passages_embedded == report.passages_total > 0  # nothing reused from a damaged index
    assert p.generation.name != damaged_generation
    store.load(s.model)  # the new live generation is sound
    answer = p.ask(SHARES_Q)
    assert not answer.abstained
    assert "160 millions" in answer.text
    assert answer.citations[0].passage.article_id == OPENAI_AMD


def test_no_index_is_index_missing_with_the_command_to_build_it(tmp_path, pipeline, settings):
    with pytest.raises(IndexMissing) as info:
        IndexStore(tmp_path / "nothing").load(BUNDLED_MODEL)
    assert "python -m bot index" in info.value.user_message

    p = pipeline(settings(index_dir=tmp_path / "nothing"))
    with pytest.raises(IndexMissing):
        p.generation  # noqa: B018 - before warm-up there is no generation
    with pytest.raises(IndexMissing) as info:
        p.warm_up(build_if_needed=False)
    assert "python -m bot index" in info.value.user_message


def test_index_built_with_another_model_is_model_mismatch(settings, embedder, pipeline):
    s = settings(model=BUNDLED_MODEL)
    build_index(s, embedder)
    with pytest.raises(ModelMismatch) as info:
        IndexStore(s.index_dir).load("intfloat/multilingual-e5-small")
    message = info.value.user_message
    assert BUNDLED_MODEL in message and "intfloat/multilingual-e5-small" in message
    assert "--rebuild" in message

    other = pipeline(settings(model="intfloat/multilingual-e5-small", index_dir=s.index_dir))
    with pytest.raises(ModelMismatch):
        other.warm_up(build_if_needed=False)


def test_crash_after_writing_before_switch_keeps_previous_generation(built, pipeline, embedder):
    s, first = built
    store = IndexStore(s.index_dir)
    before = pipeline(s)
    before.warm_up(build_if_needed=False)
    old_answer = before.ask(SHARES_Q)

    article = s.corpus_dir / OPENAI_AMD
    edit_fact(article, "160 millions", "180 millions")
    written: list[Path] = []

    def crash(path: Path) -> None:
        written.append(path)
        raise Crash("killed after writing the generation")

    with pytest.raises(Crash):
        build_index(s, embedder, on_written=crash)

    assert written and written[0].is_dir(), "the new generation was completely written"
    assert (written[0] / MANIFEST).is_file()
    assert store.current_name() == first.generation, "CURRENT still names the previous generation"

    after = pipeline(s)
    after.warm_up(build_if_needed=False)
    assert after.generation.name == first.generation
    answer = after.ask(SHARES_Q)
    assert answer.text == old_answer.text and "160 millions" in answer.text
    assert [c.passage.id for c in answer.citations] == [c.passage.id for c in old_answer.citations]

    # The lock was released: the next build succeeds and switches to the new text.
    report = build_index(s, embedder)
    assert store.current_name() == report.generation != first.generation
    after.reload()
    assert "180 millions" in after.ask(SHARES_Q).text


def test_build_failing_halfway_leaves_the_old_index_answering(built, pipeline, embedder, monkeypatch):
    s, first = built
    p = pipeline(s)
    p.warm_up(build_if_needed=False)
    old_answer = p.ask(SHARES_Q)

    article = s.corpus_dir / OPENAI_AMD
    edit_fact(article, "160 millions", "180 millions")

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory while embedding")

    with monkeypatch.context() as m:
        m.setattr(embedder, "encode_passages_with_tokens", broken)
        with pytest.raises(RuntimeError):
            p.update_index()

    assert IndexStore(s.index_dir).current_name() == first.generation
    assert p.generation.name == first.generation
    answer = p.ask(SHARES_Q)
    assert answer.text == old_answer.text
    assert [c.passage.id for c in answer.citations] == [c.passage.id for c in old_answer.citations]
    gens = s.index_dir / GENERATIONS
    assert not [d for d in gens.iterdir() if d.name.startswith(".tmp-")], "no partial generation left"
    # A fresh process loads the same, sound, generation.
    assert IndexStore(s.index_dir).load(s.model).name == first.generation


def test_old_generations_are_pruned(built, embedder):
    s, _ = built
    for _ in range(KEEP_GENERATIONS + 1):
        build_index(s, embedder)
    store = IndexStore(s.index_dir)
    gens = [d for d in (s.index_dir / GENERATIONS).iterdir() if d.is_dir()]
    assert len(gens) == KEEP_GENERATIONS
    assert store.current_name() in {d.name for d in gens}
    store.load(s.model)


SOURCED = (
    "---\ntitle: Lille ouvre une piste cyclable\nsource_url: https://example.org/lille\n"
    "added_by: feed:https://example.org/rss\n---\n\n"
    "La métropole de Lille a inauguré lundi une piste cyclable de douze kilomètres le long de la Deûle, "
    "reliant le centre-ville au campus universitaire de Villeneuve-d'Ascq.\n"
)


def test_article_info_carries_source_url_and_added_by(indexed_settings, embedder):
    s = indexed_settings
    (s.corpus_dir / "lille.md").write_text(SOURCED, encoding="utf-8")
    build_index(s, embedder)

    articles = IndexStore(s.index_dir).load(s.model).articles
    assert articles["lille.md"].source_url == "https://example.org/lille"
    assert articles["lille.md"].added_by == "feed:https://example.org/rss"
    assert articles[OPENAI_AMD].added_by is None


def test_a_generation_written_before_source_columns_still_loads(built):
    s, _ = built
    path = live_path(s)
    db = path / "passages.sqlite"
    con = sqlite3.connect(db)
    con.execute("ALTER TABLE articles DROP COLUMN source_url")
    con.execute("ALTER TABLE articles DROP COLUMN added_by")
    con.commit()
    con.close()
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"]["passages.sqlite"] = {"size": db.stat().st_size, "sha256": sha256_file(db)}
    (path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")

    info = IndexStore(s.index_dir).load(s.model).articles[OPENAI_AMD]
    assert (info.source_url, info.added_by) == (None, None)
    assert info.passages > 0
