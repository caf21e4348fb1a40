"""Issue 13, item 9: one limiter for every reply, refusals that cost nothing, a global bound."""

from __future__ import annotations

import threading

import discord
import pytest

from bot.discord_app.cooldown import BUSY
from bot.errors import QuestionTooLong

EN_QUESTION = "How much HBM4 memory will each MI450 carry?"


def bot_replies(channel, bot) -> list:
    """Every message the bot posted in a channel and in the threads opened from it."""
    messages = list(channel.history())
    for thread in channel.threads:
        messages += list(thread.history())
    # Discord's own "started a thread" notices are not replies the bot wrote.
    return [
        m
        for m in messages
        if m.author.id == bot.user.id and m.type in (discord.MessageType.default, discord.MessageType.reply)
    ]


@pytest.mark.discord(cooldown_rate=3, cooldown_seconds=30)
async def test_thirty_mentions_in_a_window_get_at_most_rate_answers(simcord_env, channel, alice):
    bot = simcord_env.bot
    for _ in range(30):
        await alice.send(channel, f"{bot.user.mention} {EN_QUESTION}")

    replies = bot_replies(channel, bot)
    answers = [m for m in replies if m.embeds]
    assert len(answers) == 3
    # One "too fast" notice, then silence for the rest of the window.
    assert [m.content for m in replies if not m.embeds] == ["You are asking too fast: try again in 30 s."]


@pytest.mark.discord(cooldown_rate=3, cooldown_seconds=30)
async def test_thirty_bare_or_too_long_mentions_are_limited_too(simcord_env, channel, alice, settings):
    bot = simcord_env.bot
    too_long = "why " * (settings.retrieval.max_question_chars // 4 + 5)
    for i in range(30):
        await alice.send(channel, bot.user.mention if i % 2 else f"{bot.user.mention} {too_long}")

    assert len(bot_replies(channel, bot)) == 2 * 3  # the reply allowance, not 30


@pytest.mark.discord(cooldown_rate=1, cooldown_seconds=30)
async def test_refusals_do_not_use_the_answering_allowance(simcord_env, channel, alice, settings):
    bot = simcord_env.bot
    too_long = "why " * (settings.retrieval.max_question_chars // 4 + 5)
    refused = await alice.slash(channel, "ask", question=too_long)
    assert "the limit is" in refused.response.content
    await alice.send(channel, bot.user.mention)  # a bare mention: the hint
    await alice.send(channel, f"{bot.user.mention} {too_long}")

    allowed = await alice.slash(channel, "ask", question=EN_QUESTION)
    assert "432 gigabytes" in allowed.response.embeds[0].description
    assert [type(e.original) for e in simcord_env.errors] == [QuestionTooLong]


@pytest.mark.simcord(settle_timeout=1.5)
@pytest.mark.discord(max_concurrent_answers=1)
async def test_past_the_global_bound_a_second_user_is_told_the_bot_is_busy(
    simcord_env, guild, channel, alice, pipeline, monkeypatch
):
    bot = simcord_env.bot
    bob = guild.add_member(simcord_env.create_user("bob"))
    carol = guild.add_member(simcord_env.create_user("carol"))
    started, release = threading.Event(), threading.Event()
    real = pipeline.ask

    def held(question, conversation=None):
        started.set()
        assert release.wait(10), "the test never released the first answer"
        return real(question, conversation)

    monkeypatch.setattr(pipeline, "ask", held)
    with pytest.raises(TimeoutError):  # simcord cannot settle while the answer is held
        await alice.slash(channel, "ask", question=EN_QUESTION)
    assert started.is_set()

    # simcord still waits for the held answer, but the busy reply is already there.
    with pytest.raises(TimeoutError):
        await carol.send(channel, f"{bot.user.mention} {EN_QUESTION}")
    assert channel.last_message.content == BUSY and channel.threads == []

    # The held answer is released as soon as Bob's /ask has been answered: deterministic.
    async def on_completion(interaction, command):
        release.set()

    bot.add_listener(on_completion, "on_app_command_completion")
    busy = await bob.slash(channel, "ask", question=EN_QUESTION)
    assert busy.ephemeral and busy.response.content == BUSY
    await simcord_env.settle()
    bot.remove_listener(on_completion, "on_app_command_completion")
    # Bob's turn was given back: once the bot is free, he is answered.
    again = await bob.slash(channel, "ask", question=EN_QUESTION)
    assert "432 gigabytes" in again.response.embeds[0].description
    assert bot.cooldown.active == 0
