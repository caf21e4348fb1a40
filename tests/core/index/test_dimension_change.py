"""A model folder replaced by one of another dimension at the same path (issue 13, item 4)."""

from __future__ import annotations

import shutil

import pytest

from bot.core.index.build import build_index
from bot.core.index.embedder import Embedder, resolve_model
from bot.core.index.store import IndexStore
from bot.core.pipeline import Pipeline
from bot.errors import DimensionMismatch

SHARES_Q = "Sur combien d'actions porte l'option d'achat d'OpenAI ?"


def _save_model(path, projected: bool) -> None:
    """The bundled MiniLM (384 dimensions), or it with a 384->128 Dense layer, saved at `path`."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense

    from bot.config import BUNDLED_MINILM

    model = SentenceTransformer(resolve_model(BUNDLED_MINILM), device="cpu")
    if projected:
        model.append(Dense(in_features=384, out_features=128))
    if path.exists():
        shutil.rmtree(path)
    model.save(str(path))


@pytest.fixture
def model_dir(tmp_path):
    path = tmp_path / "model"
    _save_model(path, projected=False)
    return path


def test_a_model_of_another_dimension_at_the_same_path_is_detected_and_rebuilt(settings, model_dir):
    s = settings(model=str(model_dir))
    first = Pipeline(s)
    first.warm_up()
    assert IndexStore(s.index_dir).read_manifest()["dimension"] == 384
    _save_model(model_dir, projected=True)  # replaced in place
    embedder = Embedder(s.model, s.query_prefix, s.passage_prefix)
    assert embedder.dimension == 128
    with pytest.raises(DimensionMismatch) as err:
        IndexStore(s.index_dir).load(s.model, dimension=embedder.dimension)
    assert "384" in err.value.user_message and "128" in err.value.user_message
    assert "\n" not in err.value.user_message
    # `index` (no numpy broadcast error): everything is embedded again with the new model.
    report = build_index(s, embedder)
    assert report.passages_embedded == report.passages_total
    assert IndexStore(s.index_dir).read_manifest()["dimension"] == 128


def test_ask_after_the_model_changed_dimension_rebuilds_and_answers(settings, model_dir):
    s = settings(model=str(model_dir))
    Pipeline(s).warm_up()
    _save_model(model_dir, projected=True)
    p = Pipeline(s)
    report = p.warm_up()  # no FAISS assertion: detected as stale and rebuilt
    assert report is not None and report.passages_embedded == report.passages_total
    assert p.generation.faiss_index.d == 128
    assert p.ask(SHARES_Q).citations
