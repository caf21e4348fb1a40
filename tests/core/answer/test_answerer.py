"""Abstention reads the passage cited first, not the best of the passages ranked after it, and the
one ranked first before the re-reading."""

from __future__ import annotations

from bot.core.answer.answerer import Answerer
from bot.core.search.retriever import Hit, Ranking
from bot.models import Passage


def hit(row: int, cosine: float, score: float) -> Hit:
    """A ranked passage with the given raw cosine and fused score."""
    p = Passage(f"p{row}", "a.md", "Title", f"Passage {row}.", 0, 10, "en", row, row)
    return Hit(row, p, score, cosine)


def ranking(*hits: Hit, lead: float | None = None) -> Ranking:
    """Hits as ranked; `lead` the cosine of the first before the re-reading (by default, the first's)."""
    return Ranking(list(hits), hits[0].dense if lead is None and hits else lead or 0.0)


def test_a_close_passage_ranked_second_does_not_vouch_for_the_first():
    answerer = Answerer(threshold=0.81)
    assert not answerer.confident(ranking(hit(0, 0.80, 0.9), hit(1, 0.83, 0.8), hit(2, 0.79, 0.7)))


def test_the_first_citation_close_enough_is_answered():
    answerer = Answerer(threshold=0.81)
    assert answerer.confident(ranking(hit(0, 0.81, 0.9), hit(1, 0.70, 0.8)))


def test_a_passage_the_re_reading_put_first_does_not_vouch_for_the_question():
    # The first stage's best was not close enough: a closer passage moved up by the re-reading of
    # its words is no evidence that the articles answer the question.
    answerer = Answerer(threshold=0.81)
    assert not answerer.confident(ranking(hit(3, 0.83, 1.2), hit(0, 0.80, 0.9), lead=0.80))
    assert answerer.confident(ranking(hit(3, 0.83, 1.2), hit(0, 0.82, 0.9), lead=0.82))


def test_no_hits_is_never_confident():
    assert not Answerer(threshold=0.0).confident(Ranking([], 0.0))
