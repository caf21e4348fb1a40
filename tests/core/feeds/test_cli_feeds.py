"""python -m bot feeds add|list|remove|poll: one clear line for each outcome, nothing stored is lost."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.core.feeds import store

from .server import Route, start


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    for name in ("NEWSBOT_FEEDS_FILE", "NEWSBOT_INGEST_ALLOW_HOSTS", "NEWSBOT_FEEDS_INTERVAL_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    (tmp_path / "corpus").mkdir()
    return tmp_path / "corpus"


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(["feeds", *args])
    out, err = capsys.readouterr()
    return code, out.strip(), err.strip()


def test_add_list_remove(corpus, capsys):
    c = ["--corpus", str(corpus)]
    assert run(capsys, "add", "https://example.com/rss.xml", *c) == (0, "Following https://example.com/rss.xml.", "")
    assert run(capsys, "add", "https://EXAMPLE.com/rss.xml", *c) == (
        1, "", "https://EXAMPLE.com/rss.xml is already followed."
    )
    assert run(capsys, "add", "file:///etc/passwd", *c)[2] == (
        "Cannot follow file:///etc/passwd: give a full http:// or https:// link."
    )
    assert run(capsys, "list", *c) == (0, "https://example.com/rss.xml", "")
    assert run(capsys, "remove", "https://example.com/other.xml", *c)[2] == (
        "https://example.com/other.xml is not a followed feed."
    )
    assert run(capsys, "remove", "https://example.com/rss.xml", *c)[0] == 0
    assert run(capsys, "list", *c) == (0, "No feeds are followed.", "")


def test_poll_records_a_failing_feed_and_list_shows_it(corpus, capsys, monkeypatch):
    state, server = start()
    try:
        state.routes["/page"] = Route(b"<html><body>a page, not a feed</body></html>")
        monkeypatch.setenv("NEWSBOT_INGEST_ALLOW_HOSTS", '["127.0.0.1"]')
        c = ["--corpus", str(corpus)]
        run(capsys, "add", state.url("/page"), *c)

        code, out, _ = run(capsys, "poll", *c)

        page = state.url("/page")
        assert code == 1 and out == f"{page}: 0 added or updated; {page} is not an RSS or Atom feed."
        code, out, _ = run(capsys, "list", *c)
        assert "last error: " in out and "(failed 1 time; next try " in out
        assert store.load(store.feeds_path(corpus))[0].failures == 1
    finally:
        server.shutdown()
        server.server_close()
