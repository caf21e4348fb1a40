"""Answer quality on the development set (../shared/eval/dev), scored as score.py scores it.

The floors asserted here are what the bot reaches now with the bundled English model and Apertium
translations; the answer-quality issue asks for hit@1 >= 0.90, which is not yet
reached (0.87, see README, "Answer quality"). A drop below these floors is a regression.
"""

from __future__ import annotations

import pytest

from bot.core import translate
from bot.evaluation import answer_all, read_questions, score


@pytest.fixture
def dev_scores(indexed_settings, pipeline, dev_questions):
    p = pipeline(indexed_settings)
    p.warm_up()
    questions = read_questions(dev_questions)
    answers = answer_all(p, questions)
    return questions, answers, score(questions, answers)


@pytest.mark.skipif(
    not translate.available("fr", "en"), reason="Apertium is not installed (./dev installs it)"
)
def test_dev_set_meets_the_quality_floors(dev_scores):
    _, _, scores = dev_scores
    t = scores["total"]
    assert t["missing"] == 0
    assert t["hit1"] >= 0.85, t
    assert t["hit3"] >= 0.96, t
    assert t["answer_hit"] >= 0.85, t
    assert t["answer_chars_p50"] <= 300, t
    assert t["oos_abstain"] == 1.0, t
    assert t["false_abstain"] <= 0.05, t


def test_out_of_scope_questions_are_declined_in_their_language(dev_scores):
    questions, answers, _ = dev_scores
    oos = [q for q in questions if q["kind"] == "outofscope"]
    assert oos
    for q in oos:
        a = answers[q["id"]]
        assert a["abstained"] and a["citations"] == []
        expected = "Les articles ne répondent pas" if q["lang"] == "fr" else "The articles don't answer"
        assert a["answer"].startswith(expected)


@pytest.mark.skipif(
    not translate.available("fr", "en"), reason="Apertium is not installed (./dev installs it)"
)
def test_both_follow_up_second_turns_are_right(dev_scores):
    questions, answers, _ = dev_scores
    by_conv: dict[str, list[dict]] = {}
    for q in questions:
        if q.get("conversation"):
            by_conv.setdefault(q["conversation"], []).append(q)
    assert len(by_conv) >= 2
    for turns in by_conv.values():
        second = turns[1]
        a = answers[second["id"]]
        top = a["citations"][0]
        assert top["source"] in second["sources"], (second["question"], top)
        assert any(x.lower() in a["answer"].lower() for x in second["answers"]), a["answer"]
