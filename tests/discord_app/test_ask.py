"""/ask and /search through the simulated Discord, with the real pipeline."""

from __future__ import annotations

import pytest
from discord import app_commands

from bot.discord_app import limits as L
from bot.errors import QuestionTooLong

from .helpers import cited_articles, deferred, huge_answer, message_sends

FR_QUESTION = "Sur combien d'actions porte l'option d'achat d'OpenAI ?"
EN_QUESTION = "How much HBM4 memory will each MI450 carry?"


async def test_ask_in_french_cites_the_right_article(simcord_env, channel, alice):
    result = await alice.slash(channel, "ask", question=FR_QUESTION)

    assert deferred(simcord_env)
    assert not result.ephemeral
    embed = result.response.embeds[0]
    assert embed.title == FR_QUESTION
    assert "160 millions" in embed.description and "[1]" in embed.description
    assert cited_articles(embed)[0] == "openai-amd.md"
    assert "160 millions d’actions AMD" in embed.fields[0].value  # the article's own apostrophe
    assert embed.fields[0].name.startswith("[1] OpenAI et AMD")
    labels = [c["label"] for row in result.response.components for c in row["components"]]
    assert labels == ["Show passages", "Helpful", "Not helpful"]


async def test_ask_in_english_cites_the_right_article(simcord_env, channel, alice):
    result = await alice.slash(channel, "ask", question=EN_QUESTION)

    embed = result.response.embeds[0]
    assert "432 gigabytes" in embed.description
    assert cited_articles(embed)[0] == "amd-helios-rack.md"


async def test_a_question_the_articles_do_not_answer_abstains(simcord_env, channel, alice):
    result = await alice.slash(channel, "ask", question="Quel temps fera-t-il demain à Lyon ?")

    embed = result.response.embeds[0]
    assert "ne répondent pas" in embed.description
    assert cited_articles(embed) == []
    labels = [c["label"] for row in result.response.components for c in row["components"]]
    assert "Show passages" not in labels  # nothing to show


async def test_private_ask_is_seen_only_by_the_asker(simcord_env, channel, alice):
    result = await alice.slash(channel, "ask", question=EN_QUESTION, private=True)

    assert result.ephemeral
    assert result.response.ephemeral
    assert "432 gigabytes" in result.response.embeds[0].description


async def test_show_passages_sends_the_full_passages_privately(simcord_env, channel, alice, pipeline):
    result = await alice.slash(channel, "ask", question=EN_QUESTION)

    shown = await alice.click(result.response, label="Show passages")

    assert shown.ephemeral
    embeds = shown.response.embeds
    answer = pipeline.ask(EN_QUESTION)
    assert [e.description for e in embeds] == [c.text.strip() for c in answer.citations]
    assert embeds[0].title.startswith("[1] AMD shows Helios")
    assert "amd-helios-rack.md" in embeds[0].footer.text


async def test_votes_are_recorded_in_the_feedback_file(simcord_env, channel, alice, settings):
    import json

    result = await alice.slash(channel, "ask", question=FR_QUESTION)
    up = await alice.click(result.response, label="Helpful")
    down = await alice.click(result.response, label="Not helpful")

    assert up.ephemeral and "👍" in up.response.content
    assert down.ephemeral and "👎" in down.response.content
    lines = settings.retrieval.feedback_file.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["vote"] for r in records] == ["up", "down"]
    first = records[0]
    assert first["user_id"] == alice.id
    assert first["question"] == FR_QUESTION
    assert "160 millions" in first["answer"]
    assert len(first["citations"]) == 3 and all(isinstance(c, str) for c in first["citations"])
    assert first["time"].endswith("+00:00")


async def test_a_too_long_question_is_refused_privately(simcord_env, channel, alice, settings):
    limit = settings.retrieval.max_question_chars
    result = await alice.slash(channel, "ask", question="Pourquoi " * (limit // 9 + 10))

    assert result.ephemeral
    assert f"the limit is {limit}" in result.response.content
    assert not deferred(simcord_env)  # refused before "thinking…" could show publicly
    assert [type(e.original) for e in simcord_env.errors] == [QuestionTooLong]


@pytest.mark.discord(cooldown_rate=2, cooldown_seconds=30)
async def test_cooldown_says_when_to_retry_and_resets(simcord_env, channel, alice):
    for _ in range(2):
        ok = await alice.slash(channel, "search", query="MI450")
        assert ok.response.embeds

    refused = await alice.slash(channel, "ask", question=EN_QUESTION)
    assert refused.ephemeral
    assert refused.response.content == "You are asking too fast: try again in 30 s."
    assert isinstance(simcord_env.errors[-1], app_commands.CommandOnCooldown)

    await simcord_env.advance_time(12)
    again = await alice.slash(channel, "ask", question=EN_QUESTION)
    assert again.response.content == "You are asking too fast: try again in 18 s."

    await simcord_env.advance_time(18)
    allowed = await alice.slash(channel, "ask", question=EN_QUESTION)
    assert "432 gigabytes" in allowed.response.embeds[0].description
    assert [type(e) for e in simcord_env.errors] == [app_commands.CommandOnCooldown] * 2


async def test_everyone_in_a_question_stays_text(simcord_env, guild, channel, alice):
    result = await alice.slash(channel, "ask", question=f"@everyone {EN_QUESTION} <@{alice.id}>")

    message = result.response.message
    assert not message.mention_everyone
    assert message.mentions == [] and message.role_mentions == []
    assert "@everyone" in result.response.embeds[0].title
    sends = message_sends(simcord_env)
    assert sends and all(s.get("allowed_mentions") == {"parse": []} for s in sends)


async def test_search_lists_passages_with_scores_privately(simcord_env, channel, alice):
    result = await alice.slash(channel, "search", query="HBM4 memory MI450")

    assert result.ephemeral
    embed = result.response.embeds[0]
    assert embed.title == "Passages for: HBM4 memory MI450"
    assert 1 <= len(embed.fields) <= 5
    assert embed.fields[0].name.startswith("1. AMD shows Helios")
    score = float(embed.fields[0].name.rsplit("·", 1)[1])
    assert score > 0
    assert "amd-helios-rack.md" in embed.fields[0].value


async def test_oversized_answer_is_sent_within_discord_limits(
    simcord_env, channel, alice, pipeline, monkeypatch
):
    answer = huge_answer(citations=10, passage_chars=5000, text_chars=6000, title_chars=400)
    monkeypatch.setattr(pipeline, "ask", lambda question, conversation=None: answer)

    result = await alice.slash(channel, "ask", question="Tell me everything")
    embed = result.response.embeds[0]
    assert len(embed) <= L.EMBED_TOTAL
    assert len(embed.fields) == 10
    assert embed.description.endswith("…")

    shown = await alice.click(result.response, label="Show passages")
    pages = [shown.response, *shown.followups]
    assert len(pages) > 1  # ten 4096-character passages cannot fit in one message
    assert sum(len(e) for p in pages for e in p.embeds) > L.EMBED_TOTAL
    assert all(sum(len(e) for e in p.embeds) <= L.EMBED_TOTAL for p in pages)
    assert all(p.ephemeral for p in pages)


async def test_buttons_still_work_long_after_the_answer(simcord_env, channel, alice):
    # Persistent buttons: no 14-minute timeout any more (a click is a new interaction).
    result = await alice.slash(channel, "ask", question=EN_QUESTION)

    await simcord_env.advance_time(24 * 3600)

    assert result.response.components
    shown = await alice.click(result.response, label="Show passages")
    assert shown.ephemeral and shown.response.embeds


async def test_ask_works_in_a_direct_message_where_admin_commands_do_not_exist(simcord_env):
    bob = simcord_env.create_user("bob")
    assert "ask" in bob.available_commands() and "reindex" not in bob.available_commands()

    result = await bob.slash("ask", question=EN_QUESTION)

    assert "432 gigabytes" in result.response.embeds[0].description


@pytest.fixture
def asked(pipeline, monkeypatch):
    """Records the (question, turns so far) of every call to the real pipeline's ask()."""
    calls = []
    real = pipeline.ask

    def spy(question, conversation=None):
        calls.append(
            (question, [t.question for t in conversation.turns] if conversation is not None else None)
        )
        return real(question, conversation)

    monkeypatch.setattr(pipeline, "ask", spy)
    return calls


async def test_ask_in_a_thread_continues_the_thread_conversation(simcord_env, channel, alice, asked):
    bot = simcord_env.bot
    await alice.send(channel, f"{bot.user.mention} What is AMD's Helios?")
    [thread] = channel.threads

    result = await alice.slash(thread, "ask", question="How much compute will one of them deliver?")

    embed = result.response.embeds[0]
    assert "2.9 exaflops" in embed.description
    assert cited_articles(embed)[0] == "amd-helios-rack.md"
    assert asked[-1] == ("How much compute will one of them deliver?", ["What is AMD's Helios?"])
    # The /ask turn is now part of the thread's conversation, for chat as for /ask.
    assert [t.question for t in bot.sessions.get(thread.id).conversation.turns] == [
        "What is AMD's Helios?",
        "How much compute will one of them deliver?",
    ]


async def test_a_private_ask_in_a_thread_uses_the_conversation_without_joining_it(
    simcord_env, channel, alice, asked
):
    bot = simcord_env.bot
    await alice.send(channel, f"{bot.user.mention} What is AMD's Helios?")
    [thread] = channel.threads

    result = await alice.slash(
        thread, "ask", question="How much compute will one of them deliver?", private=True
    )

    assert result.ephemeral and "2.9 exaflops" in result.response.embeds[0].description
    assert asked[-1][1] == ["What is AMD's Helios?"]
    assert [t.question for t in bot.sessions.get(thread.id).conversation.turns] == ["What is AMD's Helios?"]


async def test_ask_in_a_channel_has_no_conversation(simcord_env, channel, alice, asked):
    await alice.slash(channel, "ask", question=EN_QUESTION)
    await alice.slash(channel, "ask", question="How much compute will one of them deliver?")
    assert [conversation for _, conversation in asked] == [None, None]
    assert channel.id not in simcord_env.bot.sessions


async def test_a_private_ask_in_a_dm_joins_the_dm_conversation(simcord_env, asked):
    # In a DM only the asker sees anything: "private" hides nothing from anyone, so the turn counts.
    bob = simcord_env.create_user("bob")
    await bob.send_dm("What is AMD's Helios?")
    dm = bob.dm_channel

    result = await bob.slash("ask", question="How much compute will one of them deliver?", private=True)

    assert "2.9 exaflops" in result.response.embeds[0].description
    assert asked[-1] == ("How much compute will one of them deliver?", ["What is AMD's Helios?"])
    assert [t.question for t in simcord_env.bot.sessions.get(dm.id).conversation.turns] == [
        "What is AMD's Helios?",
        "How much compute will one of them deliver?",
    ]
