"""Hybrid retrieval: dense (FAISS) and lexical (BM25) scores, normalised per query and fused.

For each form of the question (see `Question.forms`), the candidates are the best CANDIDATES
passages of each signal. The dense signal is the cosine to the passage vectors centred per language
(index/centring.py), so that a passage in the other language competes on meaning. Over those
candidates each signal is scaled to [0, 1] (cosine by min-max, BM25 by its maximum), and the fused
score is `(1 - LEXICAL_WEIGHT) * dense + LEXICAL_WEIGHT * bm25`. A passage's score is the best over
the forms; the ranking keeps one passage per paragraph, since a citation shows the whole paragraph. The best
paragraphs are then re-read token by token against the question (rerank.py) before one is cited.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.core.index.embedder import Embedder
from bot.core.index.store import Generation
from bot.core.search import rerank
from bot.core.search.question import Question
from bot.models import Passage

# How many passages each signal proposes per question form. 20, 50 and 100 ranked alike on the
# development sets (dev2, dev, benchmarks/heldout); 100 leaves room for larger corpora.
CANDIDATES = 100
# The lexical share of the fused score. Chosen on dev2 (hit@1 0.71 / 0.76 / 0.73 for 0.2 / 0.3 /
# 0.4 in the experiment that picked it); benchmarks/heldout agreed (0.69 / 0.77 / 0.74). Dense
# alone gave 0.67 on dev2: the lexical side catches names, figures and rare words that a small
# multilingual model blurs.
LEXICAL_WEIGHT = 0.3


@dataclass(frozen=True)
class Hit:
    """One ranked passage: `score` its ranking score (fused, plus the re-reading for the best
    paragraphs), `dense` its best raw cosine to the question."""

    row: int
    passage: Passage
    score: float
    dense: float


@dataclass(frozen=True)
class Ranking:
    """The passages ranked for a question, and the raw cosine of the one ranked first before the
    re-reading (`lead`): the re-reading orders passages by their words, so it may put first a
    passage closer to the question than the first stage's best, but it is no evidence that the
    corpus answers the question at all (abstention reads both, see answer/answerer.py)."""

    hits: list[Hit]
    lead: float


def _scaled(values: np.ndarray) -> np.ndarray:
    """Min-max scaling to [0, 1] (all zeros when the values are all equal)."""
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def fuse(dense: dict[int, float], lexical: np.ndarray, weight: float = LEXICAL_WEIGHT) -> dict[int, float]:
    """The fused score of each candidate: the dense cosine scaled over the candidates, plus the
    BM25 score as a share of the best one, weighted (`lexical` holds every passage's BM25)."""
    top = np.argpartition(-lexical, CANDIDATES - 1)[:CANDIDATES] if len(lexical) > CANDIDATES else None
    rows = set(dense) | {int(r) for r in (top if top is not None else range(len(lexical))) if lexical[r] > 0}
    if not rows:
        return {}
    order = sorted(rows)
    # A lexical candidate the dense search did not return is scored at the lowest cosine seen.
    floor = min(dense.values()) if dense else 0.0
    d = _scaled(np.array([dense.get(r, floor) for r in order], dtype=np.float64))
    b = lexical[order].astype(np.float64)
    b = b / b.max() if b.max() > 0 else b
    return {r: float((1 - weight) * dv + weight * bv) for r, dv, bv in zip(order, d, b, strict=True)}


def rescore(fused: list[float], late: np.ndarray, weight: float = rerank.WEIGHT) -> list[float]:
    """The final scores of the re-read paragraphs: the fused score plus the re-reading, scaled to
    [0, 1] over them as each signal of the fusion is."""
    if not len(late):
        return list(fused)
    return [f + weight * float(s) for f, s in zip(fused, _scaled(np.asarray(late)), strict=True)]


Paragraph = tuple[str, int]  # (article id, paragraph number)


def _paragraphs(
    gen: Generation, fused: dict[int, float], own: dict[int, float], limit: int
) -> tuple[list[Paragraph], dict[Paragraph, float], dict[Paragraph, int]]:
    """The best `limit` paragraphs, best first, with their scores and the passage cited for each.

    A paragraph ranks by its best passage over the question's forms (`fused`); the passage cited
    for it is the one that best matches the question alone (`own`). The conversation finds the
    subject; the question itself picks the sentence ("and from when?" wants the date, not the
    sentence that repeats the previous question).
    """
    order: list[Paragraph] = []
    rank: dict[Paragraph, float] = {}
    cited: dict[Paragraph, int] = {}
    for row in sorted(fused, key=fused.__getitem__, reverse=True):
        p = gen.passages[row]
        key = (p.article_id, p.paragraph)
        if key not in cited:
            if len(order) == limit:
                continue  # no new paragraph, but a better passage of a kept one may still come
            order.append(key)
            rank[key], cited[key] = fused[row], row
        elif own.get(row, -1.0) > own.get(cited[key], -1.0):
            cited[key] = row
    return order, rank, cited


class Retriever:
    """Ranks the passages of a generation for a question."""

    def __init__(self, embedder: Embedder, lexical_weight: float = LEXICAL_WEIGHT) -> None:
        self.embedder = embedder
        self.lexical_weight = lexical_weight

    def retrieve(self, gen: Generation, question: Question, k: int) -> Ranking:
        """The k best passages for the question, best first, one per paragraph."""
        n = len(gen)
        if n == 0:
            return Ranking([], 0.0)
        forms = question.forms
        vectors, question_tokens = self.embedder.encode_queries_with_tokens([text for text, _ in forms])
        fused: dict[int, float] = {}
        own: dict[int, float] = {}  # the fused score for the question alone (the first form)
        cosine: dict[int, float] = {}
        for i, ((_, terms), found) in enumerate(zip(forms, gen.search_dense(vectors, CANDIDATES), strict=True)):
            dense = {row: score for row, (score, _) in found.items()}
            for row, score in fuse(dense, gen.lexical.scores(terms, n), self.lexical_weight).items():
                fused[row] = max(fused.get(row, 0.0), score)
                if i == 0:
                    own[row] = score
            for row, (_, c) in found.items():
                cosine[row] = max(cosine.get(row, -1.0), c)
        order, rank, cited = _paragraphs(gen, fused, own, max(k, rerank.DEPTH))
        lead = cosine.get(cited[order[0]], 0.0) if order else 0.0
        if gen.token_index is not None and order:
            # The best paragraphs re-read token by token (rerank.py), with each form of the question as
            # it was searched with each: a follow-up's own words ("combien de gigawatts ?") alone
            # would pick any passage with a figure in gigawatts, whatever the conversation is about.
            top = order[: rerank.DEPTH]
            rows = [cited[key] for key in top]
            late = np.mean([rerank.late_interaction(t, rows, gen.token_index) for t in question_tokens], axis=0)
            rank.update(zip(top, rescore([rank[key] for key in top], late), strict=True))
            order = sorted(top, key=rank.__getitem__, reverse=True) + order[rerank.DEPTH :]
        hits = [Hit(cited[key], gen.passages[cited[key]], rank[key], cosine.get(cited[key], 0.0)) for key in order[:k]]
        return Ranking(hits, lead)
