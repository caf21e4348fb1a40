"""Chat: mentions answered in a thread, DMs, follow-ups that use the thread's conversation."""

from __future__ import annotations

import discord
import pytest

from .helpers import cited_articles, message_sends

EN_QUESTION = "How much HBM4 memory will each MI450 carry?"


@pytest.fixture
def asked(pipeline, monkeypatch):
    """Records the (question, turns so far) of every call to the real pipeline's ask()."""
    calls = []
    real = pipeline.ask

    def spy(question, conversation=None):
        calls.append((question, [t.question for t in conversation.turns] if conversation else None))
        return real(question, conversation)

    monkeypatch.setattr(pipeline, "ask", spy)
    return calls


async def test_a_mention_is_answered_in_a_thread(simcord_env, channel, alice):
    bot = simcord_env.bot
    await alice.send(channel, f"{bot.user.mention} {EN_QUESTION}")

    [thread] = channel.threads
    assert thread.name == EN_QUESTION
    reply = thread.last_message
    assert reply.author.id == bot.user.id
    assert "432 gigabytes" in reply.embeds[0].description
    assert cited_articles(reply.embeds[0])[0] == "amd-helios-rack.md"
    # In the channel, only Discord's "started a thread" notice.
    assert channel.last_message.type == discord.MessageType.thread_created


async def test_a_direct_message_is_answered(simcord_env, asked):
    bob = simcord_env.create_user("bob")
    await bob.send_dm("Sur combien d'actions porte l'option d'achat d'OpenAI ?")

    reply = bob.dm_channel.last_message
    assert reply.author.id == simcord_env.bot.user.id
    assert "160 millions" in reply.embeds[0].description
    await bob.send_dm("Et Nvidia, combien investit-elle ?")
    # The DM keeps its own conversation too.
    assert asked[1] == (
        "Et Nvidia, combien investit-elle ?",
        ["Sur combien d'actions porte l'option d'achat d'OpenAI ?"],
    )


@pytest.mark.discord(message_content=True)
async def test_a_follow_up_in_the_thread_uses_the_first_turn(simcord_env, channel, alice, asked):
    bot = simcord_env.bot
    await alice.send(channel, f"{bot.user.mention} What is AMD's Helios?")
    [thread] = channel.threads
    assert "Helios" in thread.last_message.embeds[0].description

    await alice.send(thread, "How much compute will one of them deliver?")

    reply = thread.last_message
    assert reply.author.id == bot.user.id
    assert "2.9 exaflops" in reply.embeds[0].description
    assert asked == [
        ("What is AMD's Helios?", []),
        ("How much compute will one of them deliver?", ["What is AMD's Helios?"]),
    ]
    assert len(bot.sessions.get(thread.id).conversation.turns) == 2


async def test_without_the_content_intent_follow_ups_need_a_mention(simcord_env, channel, alice, asked):
    bot = simcord_env.bot
    assert not bot.intents.message_content
    await alice.send(channel, f"{bot.user.mention} What is AMD's Helios?")
    [thread] = channel.threads

    await alice.send(thread, "How much compute will one of them deliver?")  # arrives with empty text
    assert thread.last_message.author.id == alice.id
    assert len(asked) == 1

    await alice.send(thread, f"{bot.user.mention} How much compute will one of them deliver?")
    assert thread.last_message.author.id == bot.user.id and thread.last_message.embeds
    assert asked[1][1] == ["What is AMD's Helios?"]


@pytest.mark.discord(reply_in_thread=False)
async def test_without_threads_the_bot_replies_in_the_channel(simcord_env, channel, alice):
    bot = simcord_env.bot
    question = await alice.send(channel, f"{bot.user.mention} {EN_QUESTION}")

    assert channel.threads == []
    reply = channel.last_message
    assert reply.author.id == bot.user.id
    assert reply.reference.message_id == question.id
    assert "432 gigabytes" in reply.embeds[0].description


async def test_other_messages_bots_and_empty_mentions(simcord_env, guild, channel, alice, asked):
    bot = simcord_env.bot
    await alice.send(channel, EN_QUESTION)  # not addressed to the bot
    other_bot = guild.add_member(simcord_env.create_user("helper", bot=True))
    await other_bot.send(channel, f"{bot.user.mention} {EN_QUESTION}")
    assert asked == [] and channel.threads == []

    await alice.send(channel, bot.user.mention)
    assert "Ask me a question about the news articles" in channel.last_message.content
    assert asked == []


@pytest.mark.discord(cooldown_rate=1, cooldown_seconds=20)
async def test_chat_shares_the_cooldown(simcord_env, channel, alice):
    bot = simcord_env.bot
    await alice.slash(channel, "search", query="MI450")
    await alice.send(channel, f"{bot.user.mention} {EN_QUESTION}")

    assert channel.last_message.content == "You are asking too fast: try again in 20 s."
    await simcord_env.advance_time(20)
    await alice.send(channel, f"{bot.user.mention} {EN_QUESTION}")
    assert "432 gigabytes" in channel.threads[0].last_message.embeds[0].description


async def test_everyone_in_a_chat_question_pings_nobody(simcord_env, channel, alice):
    bot = simcord_env.bot
    await alice.send(channel, f"{bot.user.mention} @everyone {EN_QUESTION}")

    [thread] = channel.threads
    assert "@everyone" in thread.name
    reply = thread.last_message
    assert not reply.mention_everyone and reply.mentions == []
    assert all(s.get("allowed_mentions") == {"parse": []} for s in message_sends(simcord_env))


async def test_a_too_long_chat_question_is_refused_without_a_thread(
    simcord_env, channel, alice, settings, asked
):
    bot = simcord_env.bot
    limit = settings.retrieval.max_question_chars
    question = await alice.send(channel, f"{bot.user.mention} " + "why " * (limit // 4 + 5))

    assert channel.threads == [] and asked == []
    reply = channel.last_message
    assert reply.reference.message_id == question.id
    assert (
        reply.content
        == f"The question is {limit + 19} characters long; the limit is {limit}. Ask it more briefly."
    )
