"""Issue 13, items 9 and 12: one vote per user per answer, and buttons that survive a restart."""

from __future__ import annotations

import json

import pytest

from bot.discord_app import create_bot
from bot.discord_app.answers import FILE_NAME, AnswerStore
from bot.discord_app.views import EXPIRED

EN_QUESTION = "How much HBM4 memory will each MI450 carry?"


def answer_id(message) -> str:
    """The answer id carried by the custom_id of a message's 👍 button."""
    ids = [c["custom_id"] for row in message.components for c in row["components"]]
    [up] = [i for i in ids if i.startswith("newsbot:vote:up:")]
    return up.rsplit(":", 1)[1]


def feedback_lines(settings) -> list[dict]:
    path = settings.retrieval.feedback_file
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


async def test_twenty_up_votes_from_one_user_count_once_and_a_down_vote_replaces_it(
    simcord_env, guild, channel, alice, settings
):
    result = await alice.slash(channel, "ask", question=EN_QUESTION)
    for _ in range(20):
        up = await alice.click(result.response, label="Helpful")
        assert up.ephemeral
    store = simcord_env.bot.feedback.answers
    aid = answer_id(result.response)
    assert store.votes(aid) == {alice.id: "up"}
    assert [r["vote"] for r in feedback_lines(settings)] == ["up"]

    down = await alice.click(result.response, label="Not helpful")
    assert "👎" in down.response.content
    assert store.votes(aid) == {alice.id: "down"}
    lines = feedback_lines(settings)
    assert [(r["vote"], r["replaces"]) for r in lines] == [("up", None), ("down", "up")]
    assert lines[1]["answer_id"] == aid and lines[1]["question"] == EN_QUESTION

    bob = guild.add_member(simcord_env.create_user("bob"))
    await bob.click(result.response, label="Helpful")
    assert store.votes(aid) == {alice.id: "down", bob.id: "up"}  # another user has their own vote


async def test_buttons_work_after_a_restart(
    simcord_env, channel, alice, settings, pipeline, command_state
):
    result = await alice.slash(channel, "ask", question=EN_QUESTION)
    before = await alice.click(result.response, label="Show passages")
    expected = [e.description for e in before.response.embeds]

    await simcord_env.restart_bot(create_bot(settings, pipeline, command_state=command_state))

    shown = await alice.click(result.response, label="Show passages")
    assert shown.ephemeral
    assert [e.description for e in shown.response.embeds] == expected
    up = await alice.click(result.response, label="Helpful")
    assert up.ephemeral and "👍" in up.response.content
    assert feedback_lines(settings)[-1]["question"] == EN_QUESTION
    assert simcord_env.errors == []


async def test_a_forgotten_answer_says_it_has_expired(simcord_env, channel, alice, settings, pipeline, command_state):
    result = await alice.slash(channel, "ask", question=EN_QUESTION)
    # A new bot whose store keeps one answer: the next answer pushes this one out.
    store_path = settings.retrieval.feedback_file.parent / FILE_NAME
    bot = create_bot(settings, pipeline, command_state=command_state)
    bot.feedback.answers = AnswerStore(store_path, keep=1)
    await simcord_env.restart_bot(bot)
    await alice.slash(channel, "ask", question="What is AMD's Helios?")

    for label in ("Show passages", "Helpful", "Not helpful"):
        clicked = await alice.click(result.response, label=label)
        assert clicked.ephemeral and clicked.response.content == EXPIRED
    assert feedback_lines(settings) == []


def test_the_store_keeps_only_the_last_answers(tmp_path):
    from bot.models import Answer

    store = AnswerStore(tmp_path / FILE_NAME, keep=3)
    ids = [store.add(Answer(f"q{i}", "a", (), True, "en"), []).id for i in range(3)]
    store.vote(ids[0], 1, "up")
    ids += [store.add(Answer(f"q{i}", "a", (), True, "en"), []).id for i in range(3, 5)]
    assert [store.get(i) is not None for i in ids] == [False, False, True, True, True]
    assert store.votes(ids[0]) == {}  # forgotten with its answer
    assert store.vote(ids[0], 1, "down") is None and store.votes(ids[0]) == {}  # no vote on a forgotten answer
    assert store.get(ids[4]).question == "q4"


@pytest.mark.parametrize("custom_id", ["newsbot:vote:up:zz", "newsbot:passages:" + "0" * 15])
def test_malformed_custom_ids_are_not_ours(custom_id):
    from bot.discord_app.views import ShowPassages, VoteButton

    assert not any(cls.__discord_ui_compiled_template__.fullmatch(custom_id) for cls in (ShowPassages, VoteButton))


async def test_a_click_is_acknowledged_before_the_store_is_read(simcord_env, channel, alice):
    result = await alice.slash(channel, "ask", question=EN_QUESTION)
    before = len(simcord_env.http_requests)

    await alice.click(result.response, label="Helpful")

    callbacks = [e.json.get("type") for e in simcord_env.http_requests[before:] if e.path.endswith("/callback")]
    assert callbacks == [5]  # deferred (ephemeral "thinking"), then the thanks as a followup

