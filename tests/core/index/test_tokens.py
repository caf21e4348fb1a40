"""The passages' token vectors: built from the embedder's, stored with the generation, checked and
read back, reused by an update, and absent from older generations without breaking them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.core.index.build import build_index, embed_text
from bot.core.index.embedder import TokenVectors
from bot.core.index.store import MANIFEST, IndexStore, sha256_file
from bot.core.index.tokens import FILES, TokenIndex
from bot.errors import IndexCorrupt


def tv(ids: list[int], dim: int = 4) -> TokenVectors:
    """Token vectors with the given ids (vector j: the unit vector along j % dim)."""
    vectors = np.eye(dim, dtype=np.float16)[[i % dim for i in ids]]
    return TokenVectors(np.array(ids, dtype=np.int32), vectors)


def test_rows_come_back_as_they_went_in(tmp_path):
    index = TokenIndex.from_texts([tv([5, 7]), tv([]), tv([7, 7, 9])])
    index.save(tmp_path)
    back = TokenIndex.load(tmp_path, passages=3)
    assert len(back) == 3
    assert back.row(0).ids.tolist() == [5, 7] and back.row(1).ids.tolist() == []
    assert np.array_equal(back.row(2).vectors, tv([7, 7, 9]).vectors)


def test_stored_rows_are_reused_as_they_are(tmp_path):
    # An update reuses the previous generation's int8 rows (mapped): joined again, they are the
    # same bytes, with no round trip through floats.
    rng = np.random.default_rng(0)
    floats = [TokenVectors(np.arange(n, dtype=np.int32), rng.normal(size=(n, 8)).astype(np.float16)) for n in (3, 0, 5)]
    index = TokenIndex.from_texts(floats)
    index.save(tmp_path)
    mapped = TokenIndex.load(tmp_path, passages=3, mmap=True)
    rows = [mapped.stored_row(i) for i in range(3)]
    assert all(r.vectors.dtype == np.int8 for r in rows)
    again = TokenIndex.from_texts(rows)
    assert np.array_equal(again.vectors, index.vectors) and np.array_equal(again.offsets, index.offsets)


def test_document_frequency_counts_passages_not_occurrences():
    df = TokenIndex.from_texts([tv([5, 7]), tv([7, 7, 9]), tv([7])]).document_frequency
    assert df[7] == 3 and df[5] == 1 and df[9] == 1 and df[6] == 0


def test_arrays_that_do_not_fit_the_passages_are_refused(tmp_path):
    TokenIndex.from_texts([tv([1]), tv([2, 3])]).save(tmp_path)
    with pytest.raises(ValueError, match="do not match"):
        TokenIndex.load(tmp_path, passages=3)
    np.save(tmp_path / FILES[2], np.array([0, 1, 5], dtype=np.int64))  # past the end of the ids
    with pytest.raises(ValueError, match="do not match"):
        TokenIndex.load(tmp_path, passages=2)


def test_the_embedder_gives_the_same_vectors_and_each_texts_own_tokens(embedder):
    texts = ["OpenAI et AMD. Le contrat porte sur 6 gigawatts.", "Ajax lost €41.2 million."]
    vectors, tokens = embedder.encode_passages_with_tokens(texts)
    assert np.array_equal(vectors, embedder.encode_passages(texts))
    tokenizer = embedder._model.tokenizer
    for text, t in zip(texts, tokens, strict=True):
        # No special token and no prefix piece: exactly the pieces of the text itself.
        assert t.ids.tolist() == tokenizer(text, add_special_tokens=False)["input_ids"]
        assert t.vectors.dtype == np.float16
        assert np.allclose(np.linalg.norm(t.vectors.astype(np.float32), axis=1), 1.0, atol=1e-2)
    _, (q,) = embedder.encode_queries_with_tokens(["Combien de gigawatts ?"])
    assert q.ids.tolist() == tokenizer("Combien de gigawatts ?", add_special_tokens=False)["input_ids"]


def test_a_build_stores_each_passages_own_token_vectors_and_an_update_reuses_them(indexed_settings, embedder):
    s = indexed_settings
    gen = IndexStore(s.index_dir).load(s.model)
    assert gen.token_index is not None and len(gen.token_index) == len(gen.passages)
    _, fresh = embedder.encode_passages_with_tokens([embed_text(p) for p in gen.passages])
    for row, t in enumerate(fresh):
        assert np.array_equal(gen.token_index.row(row).ids, t.ids)
        assert np.allclose(gen.token_index.row(row).vectors, t.vectors, atol=1 / 127)  # int8 steps
    article = s.corpus_dir / "velorue-strasbourg.md"
    article.write_text(article.read_text(encoding="utf-8") + "\nUne phrase ajoutée à la fin.\n", encoding="utf-8")
    report = build_index(s, embedder)
    assert 0 < report.passages_embedded < report.passages_total  # the other articles were reused
    after = IndexStore(s.index_dir).load(s.model)
    _, fresh = embedder.encode_passages_with_tokens([embed_text(p) for p in after.passages])
    for row, t in enumerate(fresh):
        assert np.array_equal(after.token_index.row(row).ids, t.ids)


def _drop_from_manifest(path, names) -> None:
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    for name in names:
        del manifest["files"][name]
        (path / name).unlink()
    (path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def test_a_generation_written_before_the_token_vectors_loads_and_answers(indexed_settings, pipeline):
    s = indexed_settings
    store = IndexStore(s.index_dir)
    _drop_from_manifest(store.current_path(), FILES)
    assert store.load(s.model).token_index is None
    p = pipeline(s)
    p.warm_up(build_if_needed=False)
    answer = p.ask("Sur combien d'actions porte l'option d'achat d'OpenAI ?")
    assert not answer.abstained and "160 millions" in answer.text


def test_token_files_that_do_not_match_the_passages_are_index_corrupt(indexed_settings):
    s = indexed_settings
    store = IndexStore(s.index_dir)
    path = store.current_path()
    offsets = path / FILES[2]
    np.save(offsets, np.array([0, 1], dtype=np.int64), allow_pickle=False)
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"][FILES[2]] = {"size": offsets.stat().st_size, "sha256": sha256_file(offsets)}
    (path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="token vectors"):
        store.load(s.model)
