"""Odd states of the index folder: a clear one-line message, never a traceback, nothing lost."""

from __future__ import annotations

import shutil

import pytest

from bot.cli import main
from bot.core.index.store import CURRENT


def _make_odd(s, state: str) -> None:
    if state == "current-dir":
        (s.index_dir / CURRENT).unlink()
        (s.index_dir / CURRENT).mkdir()
    elif state == "index-file":
        shutil.rmtree(s.index_dir)
        s.index_dir.write_text("not a folder", encoding="utf-8")
    elif state == "lock-dir":
        lock = s.index_dir / ".build.lock"
        if lock.exists():
            lock.unlink()
        lock.mkdir()


@pytest.mark.parametrize("state", ["current-dir", "index-file", "lock-dir"])
@pytest.mark.parametrize("command", ["index", "ask"])
def test_odd_index_folder_states_give_one_clear_line(indexed_settings, use_session_embedder, capsys, state, command):
    s = indexed_settings
    _make_odd(s, state)
    args = [command, "--corpus", str(s.corpus_dir), "--index", str(s.index_dir)]
    if command == "ask":
        args.append("Sur combien d'actions porte l'option d'achat d'OpenAI ?")
    code = main(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"Cannot use the index at {s.index_dir}: ")
    if state == "index-file":
        assert s.index_dir.read_text(encoding="utf-8") == "not a folder"  # nothing removed
