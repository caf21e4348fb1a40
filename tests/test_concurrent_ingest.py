"""Two ingests at once: the outcome says what happened to the article (issue 13, item 8)."""

from __future__ import annotations

import errno
import threading

import bot.core.index.store as store_module
from bot.cli import main
from bot.core.index.build import build_index, is_stale
from bot.core.index.store import IndexStore

ARTICLE = "---\ntitle: Budget voté\nlang: fr\n---\n\nLe conseil municipal a voté un budget de 12 millions d'euros.\n"


def _source(tmp_path):
    src = tmp_path / "budget.md"
    src.write_text(ARTICLE, encoding="utf-8")
    return src


def test_an_ingest_during_a_build_is_stored_and_indexed_by_that_builds_catch_up(
    indexed_settings, use_session_embedder, embedder, capsys, tmp_path
):
    s = indexed_settings
    src = _source(tmp_path)
    (s.corpus_dir / "other.md").write_text(ARTICLE.replace("12 millions", "7 millions"), encoding="utf-8")
    reached, go = threading.Event(), threading.Event()

    def hold(_path) -> None:
        # The first build has written its generation and still holds the lock: the ingest runs now.
        reached.set()
        go.wait(120)

    reports = []
    first = threading.Thread(target=lambda: reports.append(build_index(s, embedder, on_written=hold)))
    first.start()
    try:
        assert reached.wait(300)
        code = main(["ingest", "--corpus", str(s.corpus_dir), "--index", str(s.index_dir), str(src)])
    finally:
        go.set()
        first.join(300)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "added as budget-vote.md" in out and "already running and will index it" in out
    assert reports and "budget-vote.md" in reports[0].added  # the first build's catch-up indexed it
    assert not is_stale(IndexStore(s.index_dir), s)
    assert "budget-vote.md" in IndexStore(s.index_dir).load(s.model).articles


def test_an_ingest_whose_build_fails_says_stored_but_not_indexed(
    indexed_settings, use_session_embedder, capsys, tmp_path, monkeypatch
):
    s = indexed_settings
    src = _source(tmp_path)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module, "_write_sqlite", full)
    code = main(["ingest", "--corpus", str(s.corpus_dir), "--index", str(s.index_dir), str(src)])
    out = capsys.readouterr().out
    assert code == 1
    assert "added as budget-vote.md" in out
    assert "Stored but not yet indexed: No space left" in out and "python -m bot index" in out
    assert (s.corpus_dir / "budget-vote.md").exists()
