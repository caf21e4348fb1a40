"""/feeds through simcord, and a poll against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import discord
import pytest

from bot.core.audit import audit_path, entries
from bot.core.feeds import store
from bot.discord_app.trust import REFUSAL, NotTrusted
from tests.core.feeds.server import Route, article_html, rss, serving

from .helpers import message_sends

LISTED = 434343434343434343


@pytest.fixture
def pipeline(private_pipeline):
    """A poll changes the corpus and the index: these tests get their own copy."""
    return private_pipeline


@pytest.fixture
def web():
    with serving() as state:
        yield state


def feeds_file(pipeline):
    return store.feeds_path(pipeline.settings.corpus_dir)


def operator(env):
    listed = env.create_guild("Operators", id=LISTED)
    role = listed.create_role("ops", permissions=discord.Permissions(manage_guild=True))
    member = listed.add_member(env.create_user("operator"), roles=[role])
    return listed, member


@pytest.mark.discord(admin_guild_ids=[LISTED])
async def test_manage_server_of_an_unlisted_server_is_refused_feeds_add(simcord_env, channel, admin, pipeline):
    result = await admin.slash(channel, "feeds add", url="http://127.0.0.1:1/feed.xml")

    assert result.ephemeral and result.response.content == REFUSAL
    assert not feeds_file(pipeline).exists()
    assert [type(e) for e in simcord_env.errors] == [NotTrusted]


@pytest.mark.discord(admin_guild_ids=[LISTED])
@pytest.mark.ingest(allow_hosts=["127.0.0.1"])
async def test_poll_adds_new_articles_once_posts_one_changelog_then_304(simcord_env, pipeline, web):
    cog = simcord_env.bot.get_cog("FeedsCog")
    cog.poll_loop.cancel()  # the test polls by hand: no scheduled poll may interleave
    listed, member = operator(simcord_env)
    ops = listed.create_text_channel("ops")
    news = listed.create_text_channel("news")
    for path, title in (("/a", "Intel ships @everyone Panther Lake"), ("/b", "Arm licenses a new core")):
        web.routes[path] = Route(article_html(title, title))
    web.routes["/feed"] = Route(
        rss([("Intel ships @everyone Panther Lake", web.url("/a")), ("Arm licenses a new core", web.url("/b"))]),
        "application/rss+xml",
        etag='"1"',
    )

    added = await member.slash(ops, "feeds add", url=web.url("/feed"), channel=news)
    assert added.ephemeral and added.response.content.startswith(f"Following <{web.url('/feed')}>")
    sends_before = len(message_sends(simcord_env))

    report = await cog.poll_once()

    assert sorted(a.title for a in report.outcomes[0].articles) == [
        "Arm licenses a new core", "Intel ships @everyone Panther Lake"
    ]
    titles = [a.title for a in pipeline.articles()]
    assert sum(t.startswith("Intel ships") for t in titles) == 1 and "Arm licenses a new core" in titles
    [post] = [m for m in news.history(viewer=member)]
    assert post.content.startswith("2 new articles: [Intel ships @everyone Panther Lake](<")
    [sent] = message_sends(simcord_env)[sends_before:]
    assert sent["allowed_mentions"] == {"parse": []}
    assert sent["flags"] & 4  # SUPPRESS_EMBEDS
    log = entries(audit_path(pipeline.settings.corpus_dir))
    assert {e["user_name"] for e in log} == {f"feed:{web.url('/feed')}"} and len(log) == 2

    generation = pipeline.generation.name
    before = len(web.requests)
    again = await cog.poll_once()

    assert not again.changed
    assert [(r.path, r.status) for r in web.requests[before:]] == [("/feed", 304)]
    assert len(news.history(viewer=member)) == 1
    assert pipeline.generation.name == generation
    assert len(entries(audit_path(pipeline.settings.corpus_dir))) == 2

    listing = await member.slash(ops, "feeds list")
    assert listing.ephemeral and web.url("/feed") in listing.response.content


@pytest.mark.discord(admin_guild_ids=[LISTED])
async def test_a_refused_feeds_remove_keeps_the_feed(simcord_env, channel, admin, pipeline):
    store.add(feeds_file(pipeline), "https://example.com/rss.xml")
    before = feeds_file(pipeline).read_bytes()

    result = await admin.slash(channel, "feeds remove", url="https://example.com/rss.xml")

    assert result.ephemeral and result.response.content == REFUSAL
    assert feeds_file(pipeline).read_bytes() == before
    assert [type(e) for e in simcord_env.errors] == [NotTrusted]


@pytest.mark.discord(admin_guild_ids=[LISTED])
async def test_feeds_list_shows_a_failing_feeds_error(simcord_env, pipeline):
    listed, member = operator(simcord_env)
    ops = listed.create_text_channel("ops")
    path = feeds_file(pipeline)
    store.add(path, "http://127.0.0.1:1/feed.xml")
    cog = simcord_env.bot.get_cog("FeedsCog")
    cog.poll_loop.cancel()
    await cog.poll_once()  # 127.0.0.1 is not allowed here: refused, recorded, retried later

    result = await member.slash(ops, "feeds list")

    [feed] = store.load(path)
    assert feed.failures == 1 and "loopback" in feed.last_error
    assert "last error: Refused http://127.0.0.1:1/feed.xml" in result.response.content
    assert f"next try <t:{int(feed.next_try)}:R>" in result.response.content


@pytest.mark.discord(admin_guild_ids=[LISTED])
async def test_feeds_add_of_a_bad_link_is_one_private_line(simcord_env, pipeline):
    listed, member = operator(simcord_env)
    ops = listed.create_text_channel("ops")

    result = await member.slash(ops, "feeds add", url="javascript:alert(1)")

    assert result.ephemeral
    assert result.response.content == "Cannot follow javascript:alert(1): give a full http:// or https:// link."
    assert not feeds_file(pipeline).exists()
    [error] = simcord_env.errors  # the command raised FeedError; the tree showed its message
    assert type(error.original).__name__ == "FeedError"
