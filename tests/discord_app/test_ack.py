"""Issue 13, item 5: /about, /articles, /article and suggestions are acknowledged at once, whatever the load.

Two loads are reproduced deterministically, each held by an Event until the assertions are done:
- a burst of /ask: every thread of the loop's default pool is busy (that is what 150 questions do);
- a switch to a new index generation whose load takes as long as the test wants.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Awaitable, Callable

import pytest

from bot.core import pipeline as pipeline_module
from bot.core.pipeline import Pipeline

POOL_THREADS = 2
# Real seconds, only a bound so that a regression fails instead of hanging; the held work never
# finishes on its own, so nothing here depends on the machine's speed.
BOUND = 20.0

NEW_ARTICLE = """---
title: "Qualcomm unveils the AI200 inference card"
lang: en
date: 2025-10-27
---

Qualcomm announced the AI200, an inference accelerator card for data centers. Each AI200 card supports
768 gigabytes of LPDDR memory, and Saudi start-up Humain plans to deploy 200 megawatts of them from 2026.
"""


@pytest.fixture
def pipeline(private_pipeline: Pipeline) -> Pipeline:
    """Each test changes the index (or holds its pipeline): its own copy."""
    return private_pipeline


@pytest.fixture
async def full_pool():
    """The loop's default thread pool with every thread held, as during a burst of /ask."""
    loop = asyncio.get_running_loop()
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=POOL_THREADS))
    release = threading.Event()
    started = threading.Semaphore(0)

    def held_question() -> None:
        started.release()
        release.wait(BOUND)

    blockers = [loop.run_in_executor(None, held_question) for _ in range(POOL_THREADS)]
    for _ in range(POOL_THREADS):
        assert started.acquire(timeout=BOUND)
    yield release
    release.set()
    await asyncio.gather(*blockers)


async def within_bound(action: Callable[[], Awaitable]):
    """Run a simcord action; fail (rather than hang) if the bot does not answer while the load lasts."""
    return await asyncio.wait_for(action(), timeout=BOUND)


def callback_types(env) -> list[int]:
    """The interaction response types the bot sent, in order (4 message, 5 deferred, 8 suggestions)."""
    return [e.json.get("type") for e in env.http_requests if e.method == "POST" and e.path.endswith("/callback")]


@pytest.mark.parametrize("command", ["about", "articles"])
async def test_facts_are_answered_while_a_burst_fills_the_pool(simcord_env, channel, alice, full_pool, command):
    result = await within_bound(lambda: alice.slash(channel, command))

    assert not full_pool.is_set()  # answered while every pool thread was still held
    assert result.ephemeral and result.response.embeds
    assert callback_types(simcord_env) == [4]


async def test_suggestions_come_while_a_burst_fills_the_pool(simcord_env, channel, alice, full_pool):
    choices = await within_bound(lambda: alice.autocomplete(channel, "article", "name", "helios"))

    assert not full_pool.is_set()
    assert [c["value"] for c in choices] == ["amd-helios-rack.md"]


async def test_article_is_deferred_before_it_needs_the_pool(simcord_env, channel, alice, full_pool):
    task = asyncio.ensure_future(alice.slash(channel, "article", name="amd-helios-rack.md"))
    deadline = time.monotonic() + BOUND
    while not callback_types(simcord_env) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)

    # Acknowledged ("thinking…") while the pool is still full: the opening is gathered afterwards.
    assert callback_types(simcord_env) == [5]
    full_pool.set()
    result = await within_bound(lambda: task)
    assert result.ephemeral
    assert result.response.embeds[0].title == "AMD shows Helios, the rack that will carry the MI450"


async def test_an_unknown_article_is_still_refused_at_once_while_the_pool_is_full(
    simcord_env, channel, alice, full_pool
):
    result = await within_bound(lambda: alice.slash(channel, "article", name="no-such-article"))

    assert result.response.content.startswith("No article matches")
    assert callback_types(simcord_env) == [4]
    simcord_env.errors.clear()  # the refusal is logged as UnknownArticle, as intended


@pytest.fixture
def slow_switch(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch):
    """A newer generation made live by another process (`python -m bot index`), whose load is held."""
    monkeypatch.setattr(pipeline_module, "RELOAD_CHECK_SECONDS", 0.0)
    (pipeline.settings.corpus_dir / "qualcomm.md").write_text(NEW_ARTICLE, encoding="utf-8")
    other = Pipeline(pipeline.settings, embedder=pipeline.embedder)
    new = other.update_index().generation
    assert new != pipeline.generation.name
    loading = threading.Event()
    release = threading.Event()
    load = pipeline.store.load

    def held_load(*args, **kwargs):
        loading.set()
        release.wait(BOUND)
        return load(*args, **kwargs)

    monkeypatch.setattr(pipeline.store, "load", held_load)
    yield loading, release, new
    release.set()


async def test_a_slow_generation_switch_blocks_no_interaction(simcord_env, channel, alice, pipeline, slow_switch):
    loading, release, new = slow_switch
    old = pipeline.generation.name

    about = await within_bound(lambda: alice.slash(channel, "about"))
    assert loading.wait(BOUND)  # the new generation is loading, in a thread of its own
    # Meanwhile everything is answered from the generation in memory.
    fields = {f.name: f.value for f in about.response.embeds[0].fields}
    assert fields["Generation"] == f"`{old}`"
    listed = await within_bound(lambda: alice.slash(channel, "articles"))
    assert listed.response.embeds[0].title == "Articles (5)"
    assert await within_bound(lambda: alice.autocomplete(channel, "article", "name", "qualcomm")) == []
    shown = await within_bound(lambda: alice.slash(channel, "article", name="amd-helios-rack.md"))
    assert shown.response.embeds[0].description.startswith("On stage at the Open Compute Project summit")
    assert not release.is_set() and pipeline.generation.name == old

    release.set()
    deadline = time.monotonic() + BOUND
    while pipeline.generation.name != new and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    # Swapped once loaded: the next interactions see the new article.
    about = await within_bound(lambda: alice.slash(channel, "about"))
    assert {f.name: f.value for f in about.response.embeds[0].fields}["Generation"] == f"`{new}`"
    choices = await within_bound(lambda: alice.autocomplete(channel, "article", "name", "qualcomm"))
    assert [c["value"] for c in choices] == ["qualcomm.md"]


def test_a_worker_thread_waits_for_the_switch_under_way_and_loads_once(pipeline, slow_switch):
    loading, release, new = slow_switch
    loads = []
    held = pipeline.store.load

    def counted(*args, **kwargs):
        loads.append(threading.current_thread().name)
        return held(*args, **kwargs)

    pipeline.store.load = counted
    pipeline.about(block=False)  # starts the switch in the background
    assert loading.wait(BOUND)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        # A question (block=True, in a worker thread) waits for the load rather than loading again.
        asked = pool.submit(pipeline.current_generation)
        assert pipeline.about(block=False).generation != new  # the loop still answers at once
        release.set()
        assert asked.result(BOUND).name == new
    assert loads == ["generation-switch"]


async def test_remove_suggestions_come_while_a_burst_fills_the_pool(simcord_env, channel, admin, full_pool):
    choices = await within_bound(lambda: admin.autocomplete(channel, "remove", "article", "helios"))

    assert not full_pool.is_set()
    assert [c["value"] for c in choices] == ["amd-helios-rack.md"]


async def test_feeds_list_is_deferred_before_it_needs_the_pool(
    simcord_env, settings, guild, channel, admin, full_pool
):
    settings.discord.admin_guild_ids.append(guild.id)
    task = asyncio.ensure_future(admin.slash(channel, "feeds list"))
    deadline = time.monotonic() + BOUND
    while not callback_types(simcord_env) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)

    assert callback_types(simcord_env) == [5]  # "thinking…" while every pool thread is still held
    full_pool.set()
    result = await within_bound(lambda: task)
    assert result.ephemeral and result.response.content.startswith("No feeds are followed.")
