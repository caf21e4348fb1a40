"""A full disk: one clear line, the live generation keeps answering, leftovers removed (issue 13, item 1)."""

from __future__ import annotations

import errno
import sqlite3

import pytest

import bot.core.index.store as store_module
from bot.cli import main
from bot.core.index.store import GENERATIONS, IndexStore

SHARES_Q = "Sur combien d'actions porte l'option d'achat d'OpenAI ?"


def _add_article(s, name: str = "extra.md") -> None:
    (s.corpus_dir / name).write_text(
        "---\ntitle: Un article de plus\nlang: fr\n---\n\nLe conseil municipal a voté un budget de 12 millions.\n",
        encoding="utf-8",
    )


def _partials(s) -> list[str]:
    return [d.name for d in (s.index_dir / GENERATIONS).iterdir() if d.name.startswith(".tmp-")]


@pytest.mark.parametrize(
    "fault",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        sqlite3.OperationalError("database or disk is full"),
        RuntimeError("write error in vectors.faiss: 0 != 1536 (No space left on device)"),
    ],
    ids=["enospc", "sqlite-full", "faiss-write"],
)
def test_a_build_out_of_space_says_so_in_one_line_and_ask_still_answers(
    indexed_settings, use_session_embedder, capsys, monkeypatch, fault
):
    s = indexed_settings
    live = IndexStore(s.index_dir).current_name()
    _add_article(s)
    real = store_module._write_sqlite

    def full(path, *args, **kwargs):
        # Midway: part of the file is written, then the disk is full.
        path.write_bytes(b"partial")
        raise fault

    args = ["--corpus", str(s.corpus_dir), "--index", str(s.index_dir)]
    with monkeypatch.context() as m:
        m.setattr(store_module, "_write_sqlite", full)
        code = main(["index", *args])
        err = capsys.readouterr().err
        assert code == 1 and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1 and err.startswith("No space left on the disk"), err
        assert IndexStore(s.index_dir).current_name() == live
        assert _partials(s) == [], "the failed build removed its partial generation"
        # `ask` with the corpus changed tries a build, which fails the same way: it answers anyway.
        code = main(["ask", *args, SHARES_Q])
        out = capsys.readouterr().out
        assert code == 0 and "openai-amd.md" in out
    monkeypatch.setattr(store_module, "_write_sqlite", real)
    assert main(["index", *args]) == 0
    assert IndexStore(s.index_dir).current_name() != live


def test_leftovers_of_killed_builds_and_ingests_are_removed_at_the_next_build(
    indexed_settings, use_session_embedder, capsys
):
    s = indexed_settings
    gens = s.index_dir / GENERATIONS
    killed = gens / ".tmp-g-20250101T000000000000-deadbeef"
    killed.mkdir()
    (killed / "vectors.faiss").write_bytes(b"\0" * 1000)
    leftover = s.corpus_dir / ".ingest-abc123.tmp"
    leftover.write_text("half an article", encoding="utf-8")
    live = IndexStore(s.index_dir).current_name()
    code = main(["index", "--corpus", str(s.corpus_dir), "--index", str(s.index_dir)])
    assert code == 0
    assert not killed.exists() and not leftover.exists()
    names = {d.name for d in gens.iterdir()}
    assert live in names  # the previous generation is kept for a rollback
