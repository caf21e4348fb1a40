"""Polling feeds against a real HTTP server on 127.0.0.1 (allowed through NEWSBOT_INGEST_ALLOW_HOSTS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import FeedsSettings, IngestSettings
from bot.core.audit import audit_path, entries
from bot.core.feeds import store
from bot.core.feeds.poll import changelog, poll_feeds
from bot.core.ingest.corpus import corpus_files

from .server import Route, article_html, atom, rss, serving

RSS = "application/rss+xml"


@pytest.fixture
def web():
    with serving() as state:
        yield state


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    (tmp_path / "corpus").mkdir()
    return tmp_path / "corpus"


def ingest(**kw) -> IngestSettings:
    return IngestSettings(_env_file=None, allow_hosts=["127.0.0.1"], **kw)


def feeds_settings(tmp_path: Path, **kw) -> FeedsSettings:
    return FeedsSettings(_env_file=None, **kw)


def page(web, path: str, title: str, topic: str) -> str:
    web.routes[path] = Route(article_html(title, topic))
    return web.url(path)


def fetched(web, path: str) -> list:
    return [r for r in web.requests if r.path == path]


def test_new_entry_between_two_polls_then_304(web, corpus, tmp_path):
    a = page(web, "/a", "Nvidia opens a plant", "Nvidia factory")
    b = page(web, "/b", "AMD signs with OpenAI", "AMD gigawatts")
    web.routes["/feed"] = Route(rss([("Nvidia opens a plant", a)]), RSS, etag='"v1"')
    store.add(store.feeds_path(corpus), web.url("/feed"))
    fs = feeds_settings(tmp_path)

    first = poll_feeds(corpus, ingest(), fs)
    assert [x.title for x in first.outcomes[0].articles] == ["Nvidia opens a plant"]

    web.routes["/feed"] = Route(rss([("AMD signs with OpenAI", b), ("Nvidia opens a plant", a)]), RSS, etag='"v2"')
    second = poll_feeds(corpus, ingest(), fs)
    assert [x.title for x in second.outcomes[0].articles] == ["AMD signs with OpenAI"]
    assert len(fetched(web, "/a")) == 1  # the known entry is not fetched again
    assert len(corpus_files(corpus)) == 2

    before = len(web.requests)
    third = poll_feeds(corpus, ingest(), fs)
    assert not third.changed and third.outcomes[0].not_modified
    # Only the feed was asked for, conditionally, and the server answered 304.
    assert [(r.path, r.status, r.if_none_match) for r in web.requests[before:]] == [("/feed", 304, '"v2"')]
    assert len(corpus_files(corpus)) == 2
    log = entries(audit_path(corpus))
    assert [(e["action"], e["user_name"]) for e in log] == [("added", f"feed:{web.url('/feed')}")] * 2


def test_same_article_under_two_urls_is_added_once(web, corpus, tmp_path):
    a = page(web, "/story", "Qualcomm AI200", "Qualcomm accelerator")
    web.routes["/mirror"] = web.routes["/story"]  # the same page at another address
    web.routes["/feed"] = Route(
        atom([("Qualcomm AI200", a + "?utm_source=rss#top"), ("Qualcomm AI200 (mirror)", web.url("/mirror"))]),
        "application/atom+xml",
    )
    store.add(store.feeds_path(corpus), web.url("/feed"))

    report = poll_feeds(corpus, ingest(), feeds_settings(tmp_path))

    [article] = report.outcomes[0].articles
    assert article.url == a  # tracking parameters and fragment stripped
    assert len(corpus_files(corpus)) == 1
    assert fetched(web, "/story")[0].path == "/story"


def test_gone_entry_is_noted_and_the_others_added(web, corpus, tmp_path):
    a = page(web, "/a", "Nvidia opens a plant", "Nvidia factory")
    web.routes["/feed"] = Route(rss([("Gone", web.url("/gone")), ("Nvidia opens a plant", a)]), RSS)
    path = store.feeds_path(corpus)
    store.add(path, web.url("/feed"))

    report = poll_feeds(corpus, ingest(), feeds_settings(tmp_path))

    assert [x.title for x in report.outcomes[0].articles] == ["Nvidia opens a plant"]
    [feed] = store.load(path)
    assert "404" in feed.last_error and feed.failures == 0


def test_malformed_feed_is_recorded_with_backoff_and_others_continue(web, corpus, tmp_path):
    a = page(web, "/a", "Nvidia opens a plant", "Nvidia factory")
    web.routes["/bad"] = Route(b"<html><body>this is <b>not a feed", "text/html")
    web.routes["/good"] = Route(rss([("Nvidia opens a plant", a)]), RSS)
    path = store.feeds_path(corpus)
    store.add(path, web.url("/bad"))
    store.add(path, web.url("/unreachable-host-port").replace(str(web.port), "1"))
    store.add(path, web.url("/good"))

    report = poll_feeds(corpus, ingest(), feeds_settings(tmp_path, interval_minutes=30), now=1000.0)

    bad, unreachable, good = store.load(path)
    assert bad.last_error == f"{web.url('/bad')} is not an RSS or Atom feed."
    assert bad.failures == 1 and bad.next_try == 1000.0 + 1800
    assert "refused" in unreachable.last_error and unreachable.failures == 1
    assert good.last_error is None and len(report.outcomes[2].articles) == 1
    # Not due yet: skipped; a second failure doubles the wait.
    skipped = poll_feeds(corpus, ingest(), feeds_settings(tmp_path, interval_minutes=30), now=2000.0)
    assert skipped.outcomes[0].skipped
    poll_feeds(corpus, ingest(), feeds_settings(tmp_path, interval_minutes=30), now=3000.0)
    assert store.load(path)[0].next_try == 3000.0 + 3600


def test_feed_of_ten_thousand_entries_is_capped(web, corpus, tmp_path):
    items = [(f"Missing {i}", web.url(f"/missing/{i}")) for i in range(10_000)]
    a = page(web, "/a", "Nvidia opens a plant", "Nvidia factory")
    web.routes["/big"] = Route(rss([("Nvidia opens a plant", a), *items]), RSS)
    store.add(store.feeds_path(corpus), web.url("/big"))

    report = poll_feeds(corpus, ingest(), feeds_settings(tmp_path, max_entries=5))

    assert len(report.outcomes[0].articles) == 1
    assert len([r for r in web.requests if r.path.startswith("/missing/")]) == 4
    assert "only the first 5 are read" in report.outcomes[0].error


def test_feed_or_page_over_the_size_limit(web, corpus, tmp_path):
    big = page(web, "/big-page", "Huge", "x" * 3000)
    a = page(web, "/a", "Nvidia opens a plant", "Nvidia factory")
    web.routes["/feed"] = Route(rss([("Huge", big), ("Nvidia opens a plant", a)]), RSS)
    web.routes["/huge-feed"] = Route(rss([("x" * 100, a)] * 400), RSS)
    path = store.feeds_path(corpus)
    store.add(path, web.url("/feed"))
    store.add(path, web.url("/huge-feed"))

    report = poll_feeds(corpus, ingest(max_bytes=20_000), feeds_settings(tmp_path))

    feed, huge = store.load(path)
    assert [x.title for x in report.outcomes[0].articles] == ["Nvidia opens a plant"]
    assert "larger than the limit of 20,000 bytes" in feed.last_error
    assert "larger than the limit" in huge.last_error and huge.failures == 1


def test_changelog_links_titles_without_previews():
    from bot.core.feeds.poll import NewArticle

    text = changelog([NewArticle("A [b]", "http://x/a", "a.md", "added"), NewArticle("C", "http://x/c", "c.md", "added")])
    assert text == "2 new articles: [A (b)](<http://x/a>), [C](<http://x/c>)"


def test_damaged_feeds_file_is_reported_not_replaced(corpus):
    path = store.feeds_path(corpus)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(store.FeedError, match="is damaged"):
        store.add(path, "https://example.com/rss")
    assert path.read_text(encoding="utf-8") == "{not json"


def test_normalise_url_strips_tracking_and_fragment():
    assert store.normalise_url("HTTPS://News.Example:443/a?id=3&utm_source=x&UTM_medium=y#top") == (
        "https://news.example/a?id=3"
    )


def test_entry_links_with_credentials_or_unparsable_are_skipped_and_never_kept(web, corpus, tmp_path):
    good = page(web, "/good", "Nvidia opens a plant", "Nvidia factory")
    secret = f"http://reader:pw-hostile-secret@127.0.0.1:{web.port}/good"
    web.routes["/feed"] = Route(
        rss([("With a password", secret), ("Broken", "http://[oops/x"), ("Nvidia opens a plant", good)]), RSS
    )
    path = store.feeds_path(corpus)
    store.add(path, web.url("/feed"))

    report = poll_feeds(corpus, ingest(), feeds_settings(tmp_path))

    outcome = report.outcomes[0]
    assert [a.title for a in outcome.articles] == ["Nvidia opens a plant"]  # the good entry is not blocked
    assert "user name or password" in outcome.error and "not valid" in outcome.error
    assert "pw-hostile-secret" not in outcome.error
    assert "pw-hostile-secret" not in path.read_text(encoding="utf-8")
