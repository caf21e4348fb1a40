"""Abstention reads the passage cited first, not the best of the passages ranked after it."""

from __future__ import annotations

from bot.core.answer.answerer import Answerer
from bot.core.search.retriever import Hit
from bot.models import Passage


def hit(row: int, cosine: float, score: float) -> Hit:
    """A ranked passage with the given raw cosine and fused score."""
    p = Passage(f"p{row}", "a.md", "Title", f"Passage {row}.", 0, 10, "en", row, row)
    return Hit(row, p, score, cosine)


def test_a_close_passage_ranked_second_does_not_vouch_for_the_first():
    answerer = Answerer(threshold=0.81)
    assert not answerer.confident([hit(0, 0.80, 0.9), hit(1, 0.83, 0.8), hit(2, 0.79, 0.7)])


def test_the_first_citation_close_enough_is_answered():
    answerer = Answerer(threshold=0.81)
    assert answerer.confident([hit(0, 0.81, 0.9), hit(1, 0.70, 0.8)])


def test_no_hits_is_never_confident():
    assert not Answerer(threshold=0.0).confident([])
