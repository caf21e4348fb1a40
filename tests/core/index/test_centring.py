"""Per-language centring: the raw cosine is recovered exactly, the language offset is removed,
degenerate languages stay raw, and the store writes, checks and reads the centring."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.core.index.centring import MIN_ARTICLES, centre, raw_cosines
from bot.core.index.store import CENTRING_FILES, MANIFEST, IndexStore
from bot.errors import IndexCorrupt


def unit(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1."""
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_raw_cosines_are_recovered_from_the_centred_scores():
    rng = np.random.default_rng(0)
    vectors = unit(rng.normal(size=(40, 16)))
    langs = ["fr"] * 25 + ["en"] * 15
    centred, norms, which, means = centre(vectors, langs, [f"a{i % 5}" for i in range(40)])
    assert (which != 0).all()
    assert np.allclose(np.linalg.norm(centred, axis=1), 1.0, atol=1e-5)
    for q in unit(rng.normal(size=(5, 16))):
        rows = np.arange(40)
        got = raw_cosines(centred @ q, rows, q, norms, which, means)
        assert np.allclose(got, vectors @ q, atol=1e-5)


def test_a_passage_of_the_other_language_wins_once_the_language_offset_is_removed():
    # Each passage is its topic plus the direction of its language, as in a multilingual model.
    rng = np.random.default_rng(1)
    dim = 32
    fr_dir, en_dir = rng.normal(size=dim) * 2, rng.normal(size=dim) * 2
    topics = rng.normal(size=(6, dim))
    fr = unit(topics[:3] + fr_dir)
    en = unit(topics[3:] + en_dir)
    vectors = np.vstack([fr, en])
    langs = ["fr"] * 3 + ["en"] * 3
    articles = ["f1", "f2", "f3", "e1", "e2", "e3"]
    # An English question about the first French passage's topic.
    q = unit((topics[0] * 1.0 + en_dir)[None, :])[0]
    assert int(np.argmax(vectors @ q)) >= 3  # raw: an English passage about something else
    centred, *_ = centre(vectors, langs, articles)
    assert int(np.argmax(centred @ q)) == 0  # centred: the French passage that answers


def test_a_language_with_too_few_articles_leaves_every_vector_raw():
    # Over one article a language's mean is that article's subject: removing it would hide the
    # article from a question on that subject, so nothing is centred (both languages stay comparable).
    rng = np.random.default_rng(2)
    vectors = unit(rng.normal(size=(8, 8)))
    langs = ["fr"] * 6 + ["en"] * 2
    articles = [f"f{i % MIN_ARTICLES}" for i in range(6)] + ["e1", "e1"]
    centred, norms, which, means = centre(vectors, langs, articles)
    assert (which == 0).all() and np.allclose(norms, 1.0)
    assert np.allclose(centred, vectors, atol=1e-6)


def test_identical_passages_leave_every_vector_raw():
    rng = np.random.default_rng(3)
    same = unit(rng.normal(size=(1, 8)))
    vectors = np.vstack([same] * 3 + [unit(rng.normal(size=(3, 8)))])
    langs = ["en"] * 3 + ["fr"] * 3
    centred, norms, which, _ = centre(vectors, langs, ["e1", "e2", "e3", "f1", "f2", "f3"])
    assert (which == 0).all()
    assert np.isfinite(centred).all() and np.allclose(centred, vectors, atol=1e-6)


def test_no_vectors_at_all():
    centred, norms, which, means = centre(np.zeros((0, 8), dtype=np.float32), [], [])
    assert centred.shape == (0, 8) and norms.shape == (0,) and which.shape == (0,)


ARTICLES = {
    "fr": [
        (
            "Le port de Marseille agrandit ses quais",
            "Le port de Marseille ouvrira deux nouveaux quais en 2027 pour accueillir les porte-conteneurs géants.",
        ),
        (
            "Une nouvelle ligne de tramway à Lyon",
            "La métropole de Lyon lance une ligne de tramway de douze kilomètres vers l'est de l'agglomération.",
        ),
        (
            "Les vendanges avancées en Bourgogne",
            "La chaleur de l'été a obligé les vignerons de Bourgogne à commencer les vendanges dès la fin août.",
        ),
    ],
    "en": [
        (
            "Toronto opens a new library",
            "Toronto opened a new public library with a rooftop garden and a children's science floor.",
        ),
        (
            "A record harvest for Kansas wheat",
            "Kansas farmers brought in a record wheat harvest after a mild and wet spring.",
        ),
        (
            "Oslo bans cars from its centre",
            "Oslo has closed its city centre to private cars and turned parking spaces into bike lanes.",
        ),
    ],
}


def test_the_store_centres_a_bilingual_corpus_and_reports_raw_cosines(settings, embedder, tmp_path):
    from bot.core.index.build import build_index

    corpus = tmp_path / "bilingual"
    corpus.mkdir()
    for lang, items in ARTICLES.items():
        for i, (title, body) in enumerate(items):
            (corpus / f"{lang}-{i}.md").write_text(
                f'---\ntitle: "{title}"\nlang: {lang}\ndate: 2026-01-0{i + 1}\n---\n\n{body}\n', encoding="utf-8"
            )
    s = settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(s, embedder)
    gen = IndexStore(s.index_dir).load(s.model)
    assert gen.centring is not None and set(CENTRING_FILES) <= set(gen.manifest["files"])
    norms, which, means = gen.centring
    assert len(set(which.tolist())) == 2 and 0 not in set(which.tolist())  # both languages centred
    # The FAISS vectors are the centred ones, not the raw ones kept for reuse; the raw cosine
    # reported for a passage's own vector is 1.
    raw = np.load(gen.path / "embeddings.npy", allow_pickle=False)
    faiss_vectors = gen.faiss_index.reconstruct_n(0, gen.faiss_index.ntotal)
    assert not np.allclose(faiss_vectors, raw, atol=1e-3)
    for row in range(len(raw)):
        found = gen.search_dense(raw[row : row + 1], len(gen))[0]
        own = int(gen.row_map[row])
        assert found[own][1] == pytest.approx(1.0, abs=1e-4)
        assert max(found, key=lambda r: found[r][1]) == own


def test_the_test_corpus_with_one_english_article_stays_raw(indexed_settings):
    gen = IndexStore(indexed_settings.index_dir).load(indexed_settings.model)
    assert gen.centring is not None and not gen.centring[1].any()
    raw = np.load(gen.path / "embeddings.npy", allow_pickle=False)
    assert np.allclose(gen.faiss_index.reconstruct_n(0, gen.faiss_index.ntotal), raw, atol=1e-5)


def _drop_from_manifest(path, names):
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    for name in names:
        manifest["files"].pop(name)
        (path / name).unlink()
    (path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def test_a_generation_written_before_the_centring_still_loads_and_searches(indexed_settings):
    s = indexed_settings
    store = IndexStore(s.index_dir)
    path = store.current_path()
    _drop_from_manifest(path, CENTRING_FILES)
    gen = store.load(s.model)
    assert gen.centring is None
    v = gen.faiss_index.reconstruct_n(0, 1)
    score, cosine = gen.search_dense(v, 1)[0][int(gen.row_map[0])]
    assert score == pytest.approx(cosine) == pytest.approx(1.0, abs=1e-4)


def test_centring_files_that_do_not_match_the_vectors_are_index_corrupt(indexed_settings):
    s = indexed_settings
    store = IndexStore(s.index_dir)
    path = store.current_path()
    norms = path / CENTRING_FILES[0]
    np.save(norms, np.ones(3, dtype=np.float32), allow_pickle=False)
    from bot.core.index.store import sha256_file

    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"][CENTRING_FILES[0]] = {"size": norms.stat().st_size, "sha256": sha256_file(norms)}
    (path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="centring"):
        store.load(s.model)
