"""Old generations are garbage-collected while a serving pipeline keeps answering (issue 11)."""

from __future__ import annotations

import json

import pytest

import bot.core.pipeline as pipeline_module
from bot.core.index.build import build_index
from bot.core.index.store import GENERATIONS, MANIFEST, IndexStore

SHARES_Q = "Sur combien d'actions porte l'option d'achat d'OpenAI ?"


def test_after_ten_updates_two_generations_remain_and_old_pipelines_still_answer(
    indexed_settings, pipeline, embedder, monkeypatch
):
    s = indexed_settings
    following = pipeline(s)  # switches to each new generation (checked every time)
    following.warm_up(build_if_needed=False)
    pinned = pipeline(s)  # never switches: it serves a generation deleted from disk
    pinned.warm_up(build_if_needed=False)
    first = pinned.generation.name
    monkeypatch.setattr(pipeline_module, "RELOAD_CHECK_SECONDS", 0.0)
    monkeypatch.setattr(pinned, "current_generation", lambda: pinned.generation)
    for n in range(10):
        (s.corpus_dir / f"update-{n}.md").write_text(
            f"---\ntitle: Mise à jour {n}\nlang: fr\n---\n\nLa mise à jour numéro {n} du fil d'actualité.\n",
            encoding="utf-8",
        )
        build_index(s, embedder)  # another writer; `following` learns of it through CURRENT
        gens = [d for d in (s.index_dir / GENERATIONS).iterdir()]
        assert len(gens) <= 2, [d.name for d in gens]
        for p in (following, pinned):
            answer = p.ask(SHARES_Q)
            assert answer.citations and answer.citations[0].passage.article_id == "openai-amd.md"
    assert following.generation.name == IndexStore(s.index_dir).current_name()
    assert not (s.index_dir / GENERATIONS / first).exists()
    assert pinned.generation.name == first


@pytest.mark.parametrize(
    "damage",
    [
        {"dimension": "abc"},
        {"passages": None},
        {"articles": ["a.md"]},
        {"settings": []},
        {"embedding_keys": {"a": 1}},
        {"dimension": True},
        "not json {",
    ],
    ids=["dim-str", "passages-null", "articles-list", "settings-list", "keys-dict", "dim-bool", "invalid-json"],
)
def test_a_manifest_with_fields_of_the_wrong_type_is_corrupt_and_rebuilt(indexed_settings, pipeline, damage):
    s = indexed_settings
    store = IndexStore(s.index_dir)
    path = store.current_path()
    manifest_file = path / MANIFEST
    if isinstance(damage, str):
        manifest_file.write_text(damage, encoding="utf-8")
    else:
        manifest_file.write_text(json.dumps({**json.loads(manifest_file.read_text()), **damage}), encoding="utf-8")
    articles = sorted(p.name for p in s.corpus_dir.iterdir())
    from bot.errors import IndexCorrupt

    with pytest.raises(IndexCorrupt) as err:
        store.load(s.model)
    assert "rebuild" in err.value.user_message and "\n" not in err.value.user_message
    p = pipeline(s)
    report = p.warm_up()
    assert report is not None and report.passages_embedded == report.passages_total
    assert p.ask(SHARES_Q).citations
    assert sorted(p.name for p in s.corpus_dir.iterdir()) == articles  # nothing else removed
