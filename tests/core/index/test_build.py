"""Index updates: embed only what changed, rebuild on demand, one build at a time, keep the old index."""

from __future__ import annotations

import pytest
from filelock import FileLock

from bot.cli import main
from bot.core.index.build import build_index, is_stale
from bot.core.index.store import IndexStore
from bot.core.ingest.corpus import read_article
from bot.core.ingest.passages import split_article
from bot.errors import BuildInProgress, CorpusError

HELIOS = "amd-helios-rack.md"
NVIDIA = "nvidia-resultats-trimestriels.md"
NEW_ARTICLE = (
    "---\n"
    'title: "Le port de Marseille électrifie ses quais"\n'
    "lang: fr\n"
    "date: 2025-11-02\n"
    "---\n\n"
    "Le grand port maritime de Marseille a annoncé un investissement de 40 millions d'euros pour électrifier "
    "ses quais d'ici 2027, afin que les navires de croisière puissent couper leurs moteurs pendant les "
    "escales.\n\n"
    "Selon la direction du port, ce programme permettra de réduire de 80 % les émissions de particules fines "
    "liées aux escales dans le quartier de la Joliette.\n\n"
    "Les armateurs devront équiper leurs navires de prises compatibles ; plusieurs compagnies ont déjà "
    "commandé les équipements nécessaires pour la saison prochaine.\n"
)


def passages_of(s, name: str):
    return split_article(read_article(s.corpus_dir / name, s.corpus_dir))


def test_adding_one_article_embeds_only_its_passages(indexed_settings, embedder):
    s = indexed_settings
    total_before = len(IndexStore(s.index_dir).load(s.model))
    (s.corpus_dir / "marseille.md").write_text(NEW_ARTICLE, encoding="utf-8")
    expected = len(passages_of(s, "marseille.md"))
    assert expected >= 2

    report = build_index(s, embedder)
    assert report.added == ("marseille.md",)
    assert report.changed == () and report.removed == ()
    assert report.passages_embedded == expected
    assert report.passages_total == total_before + expected
    gen = IndexStore(s.index_dir).load(s.model)
    assert gen.name == report.generation
    assert "marseille.md" in gen.articles and gen.articles["marseille.md"].passages == expected


def test_changing_one_article_embeds_only_its_changed_passages_and_the_new_fact_is_found(
    indexed_settings, pipeline
):
    s = indexed_settings
    p = pipeline(s)
    p.warm_up(build_if_needed=False)
    old_ids = {x.id for x in passages_of(s, HELIOS)}
    path = s.corpus_dir / HELIOS
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            "Volume shipments are planned for the second half of 2026.",
            "Volume shipments are planned for the second half of 2026. "
            "A fully loaded Helios rack weighs about 3,200 kilograms, AMD said.",
        ),
        encoding="utf-8",
    )
    new_passages = passages_of(s, HELIOS)
    changed = [x for x in new_passages if x.id not in old_ids]

    report = p.update_index()
    assert report.changed == (HELIOS,) and report.added == () and report.removed == ()
    assert 0 < report.passages_embedded <= len(new_passages)
    assert report.passages_embedded == len(changed)
    assert p.generation.name == report.generation

    answer = p.ask("How much does a fully loaded Helios rack weigh?")
    assert not answer.abstained
    assert "3,200 kilograms" in answer.text
    assert answer.citations[0].passage.article_id == HELIOS


def test_removing_one_article_drops_its_passages(indexed_settings, pipeline):
    s = indexed_settings
    p = pipeline(s)
    p.warm_up(build_if_needed=False)
    before = p.ask("What revenue did Nvidia report for the quarter?")
    assert any(c.passage.article_id == NVIDIA for c in before.citations)
    n_nvidia = p.generation.articles[NVIDIA].passages
    total = len(p.generation)

    (s.corpus_dir / NVIDIA).unlink()
    report = p.update_index()
    assert report.removed == (NVIDIA,)
    assert report.passages_embedded == 0
    assert report.passages_total == total - n_nvidia
    assert NVIDIA not in p.generation.articles
    assert all(x.article_id != NVIDIA for x in p.generation.passages)
    after = p.ask("What revenue did Nvidia report for the quarter?")
    assert all(c.passage.article_id != NVIDIA for c in after.citations)


def test_unchanged_corpus_embeds_nothing(indexed_settings, embedder):
    s = indexed_settings
    report = build_index(s, embedder)
    assert report.unchanged
    assert report.passages_embedded == 0
    assert report.passages_total > 0
    IndexStore(s.index_dir).load(s.model)


def test_rebuild_embeds_everything(indexed_settings, embedder):
    report = build_index(indexed_settings, embedder, rebuild=True)
    assert report.passages_embedded == report.passages_total > 0


def test_cli_index_rebuild_embeds_everything(indexed_settings, use_session_embedder, capsys):
    s = indexed_settings
    total = len(IndexStore(s.index_dir).load(s.model))
    code = main(["index", "--rebuild", "--corpus", str(s.corpus_dir), "--index", str(s.index_dir)])
    out = capsys.readouterr().out
    assert code == 0
    assert f"{total} passages, {total} embedded" in out
    code = main(["index", "--corpus", str(s.corpus_dir), "--index", str(s.index_dir)])
    out = capsys.readouterr().out
    assert code == 0
    assert "Index up to date" in out and f"{total} passages, 0 embedded" in out


def test_a_second_concurrent_build_is_refused(indexed_settings, embedder):
    s = indexed_settings
    store = IndexStore(s.index_dir)
    live = store.current_name()
    held = FileLock(str(store.lock_path))
    held.acquire(timeout=5)
    try:
        with pytest.raises(BuildInProgress) as info:
            build_index(s, embedder, rebuild=True)
        assert "already running" in info.value.user_message
        assert store.current_name() == live
    finally:
        held.release()
    # Once the other build is over, building works again.
    assert build_index(s, embedder).generation != live


@pytest.mark.parametrize("how", ["all-unreadable", "all-deleted"])
def test_corpus_without_readable_article_is_an_error_and_the_old_index_is_kept(
    indexed_settings, pipeline, how
):
    s = indexed_settings
    p = pipeline(s)
    p.warm_up(build_if_needed=False)
    live = p.generation.name
    for f in list(s.corpus_dir.iterdir()):
        if how == "all-deleted":
            f.unlink()
        else:
            f.write_bytes(b"\xff\xfe not utf-8 \xe9\xe8")
    with pytest.raises(CorpusError) as info:
        p.update_index()
    assert "kept" in info.value.user_message
    assert IndexStore(s.index_dir).current_name() == live
    assert p.generation.name == live
    assert IndexStore(s.index_dir).load(s.model).name == live
    assert not p.ask("Sur combien d'actions porte l'option d'achat d'OpenAI ?").abstained


def test_is_stale_follows_the_corpus(indexed_settings, embedder):
    s = indexed_settings
    store = IndexStore(s.index_dir)
    assert not is_stale(store, s)

    path = s.corpus_dir / HELIOS
    path.write_text(path.read_text(encoding="utf-8") + "\nAMD did not give a price.\n", encoding="utf-8")
    assert is_stale(store, s)
    build_index(s, embedder)
    assert not is_stale(store, s)

    # A hidden file is not part of the corpus.
    (s.corpus_dir / ".draft.md").write_text("# Draft\n\nNot yet.", encoding="utf-8")
    assert not is_stale(store, s)

    # An unreadable file makes the index stale once; after a build that skipped it, no longer.
    (s.corpus_dir / "broken.md").write_bytes(b"\x00\x01binary")
    assert is_stale(store, s)
    report = build_index(s, embedder)
    assert any(x.startswith("broken.md: ") for x in report.skipped)
    assert not is_stale(store, s)

    (s.corpus_dir / NVIDIA).unlink()
    assert is_stale(store, s)


def test_is_stale_without_index(settings):
    s = settings()
    assert is_stale(IndexStore(s.index_dir), s)


def test_an_article_added_during_a_build_is_in_the_index_after_it(indexed_settings, embedder):
    s = indexed_settings
    added = s.corpus_dir / "ajout-pendant.md"

    def ingest_meanwhile(_path):
        # Runs inside the build, after its generation is written and before the switch.
        if not added.exists():
            added.write_text(NEW_ARTICLE, encoding="utf-8")

    report = build_index(s, embedder, rebuild=False, on_written=ingest_meanwhile)
    assert "ajout-pendant.md" in report.added
    gen = IndexStore(s.index_dir).load(s.model)
    assert "ajout-pendant.md" in gen.articles
    assert not is_stale(IndexStore(s.index_dir), s)


KILLED_BUILD = r"""
import sys, time, pathlib
import numpy as np
from bot.config import RetrievalSettings
from bot.core.index import build as indexer
from bot.core.index import store
from bot.core.index.embedder import TokenVectors

corpus, index, marker = map(pathlib.Path, sys.argv[1:4])

class StandInModel:
    # The model is not what this test is about: vectors of the right shape, at once.
    dimension = 384
    def load(self): pass
    def encode_passages_with_tokens(self, texts, progress=False):
        one = TokenVectors(np.zeros(1, np.int32), np.ones((1, 384), np.float16) / np.float16(np.sqrt(384)))
        return np.ones((len(texts), 384), dtype=np.float32) / np.sqrt(384), [one] * len(texts)

def hang(*args, **kwargs):
    marker.write_text("building")
    time.sleep(120)

store._write_sqlite = hang  # half of the new generation is on disk when the process dies
indexer.build_index(RetrievalSettings(_env_file=None, corpus_dir=corpus, index_dir=index),
                    StandInModel(), rebuild=True)
"""


def test_a_build_killed_with_sigkill_leaves_the_previous_index_answering(
    indexed_settings, pipeline, tmp_path
):
    import os
    import signal
    import subprocess
    import sys
    import time

    s = indexed_settings
    live = IndexStore(s.index_dir).current_name()
    marker = tmp_path / "building"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_BUILD, str(s.corpus_dir), str(s.index_dir), str(marker)],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "the build process ended before reaching the middle of the build"
            assert time.monotonic() < deadline, "the build never reached the middle"
            time.sleep(0.1)
        # Mid-build: the lock is held by the other process.
        with pytest.raises(BuildInProgress):
            build_index(s, pipeline(s).embedder)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    partial = [p for p in (s.index_dir / "generations").iterdir() if p.name.startswith(".tmp-")]
    assert partial, "the killed build should have left its unfinished folder"
    assert IndexStore(s.index_dir).current_name() == live

    p = pipeline(s)
    p.warm_up(build_if_needed=False)
    answer = p.ask("Sur combien d'actions porte l'option d'achat d'OpenAI ?")
    assert p.generation.name == live
    assert answer.citations and answer.citations[0].passage.article_id == "openai-amd.md"

    # The lock died with the process: the next build runs and clears the unfinished folder.
    report = build_index(s, p.embedder, rebuild=True)
    assert report.generation != live
    assert not [q for q in (s.index_dir / "generations").iterdir() if q.name.startswith(".tmp-")]


def test_an_update_splits_and_tokenises_only_the_changed_article(indexed_settings, embedder, monkeypatch):
    import bot.core.index.build as indexer

    s = indexed_settings
    split, tokenised = [], []
    real_split, real_tokens = indexer.split_article, indexer.lexical_tokens
    monkeypatch.setattr(indexer, "split_article", lambda a: split.append(a.id) or real_split(a))
    monkeypatch.setattr(indexer, "lexical_tokens", lambda p: tokenised.append(p.article_id) or real_tokens(p))
    path = s.corpus_dir / HELIOS
    path.write_text(
        path.read_text(encoding="utf-8") + "\nAMD a aussi présenté un nouveau logiciel.\n", encoding="utf-8"
    )

    report = build_index(s, embedder)
    assert report.changed == (HELIOS,)
    assert split == [HELIOS]
    assert set(tokenised) == {HELIOS}
    # The reused passages and tokens give the same index as a rebuild from scratch.
    gen = IndexStore(s.index_dir).load(s.model)
    fresh = build_index(s, embedder, rebuild=True)
    again = IndexStore(s.index_dir).load(s.model)
    assert [p.id for p in gen.passages] == [p.id for p in again.passages]
    assert fresh.passages_total == len(gen)


def test_translation_runs_while_the_passages_are_embedded(indexed_settings, embedder, monkeypatch):
    import threading

    from bot.core.index import build as indexer

    embedding_started = threading.Event()
    seen: dict[str, bool] = {}
    real_translate, real_encode = indexer._translate, embedder.encode_passages_with_tokens

    def translate(*args, **kwargs):
        # Serial code would embed only after this returns: the event would never be set in time.
        seen["overlapped"] = embedding_started.wait(timeout=30)
        return real_translate(*args, **kwargs)

    def encode(texts, **kwargs):
        embedding_started.set()
        return real_encode(texts, **kwargs)

    monkeypatch.setattr(indexer, "_translate", translate)
    monkeypatch.setattr(embedder, "encode_passages_with_tokens", encode)
    build_index(indexed_settings, embedder, rebuild=True)
    assert seen == {"overlapped": True}


def test_every_vector_is_the_embedding_of_its_own_text(indexed_settings, embedder):
    import hashlib

    import numpy as np

    from bot.core.index.build import embed_text

    build_index(indexed_settings, embedder, rebuild=True)
    gen = IndexStore(indexed_settings.index_dir).load(indexed_settings.model)
    texts = [embed_text(p) for p in gen.passages]
    assert gen.row_map.tolist() == list(range(len(gen.passages)))
    s = indexed_settings
    keys = [hashlib.sha1(f"{s.model}\0{s.passage_prefix}\0{t}".encode()).hexdigest() for t in texts]
    assert gen.manifest["embedding_keys"] == keys
    stored = np.load(gen.path / "embeddings.npy")
    fresh = embedder.encode_passages(texts)
    assert np.allclose(stored, fresh, atol=1e-4)
