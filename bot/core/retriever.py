"""Hybrid retrieval: dense (FAISS) and lexical (BM25) rankings fused by reciprocal rank."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.core.embedder import Embedder
from bot.core.lexical import QueryGroup, query_groups
from bot.core.store import Generation
from bot.models import Lang, Passage

# Reciprocal rank fusion constant (Cormack et al. 2009): 60 is the usual choice; it keeps the
# fused score from being dominated by one ranking's first place.
RRF_K = 60
CANDIDATES = 100
# Weight of a follow-up's previous question, relative to the question itself.
CONTEXT_WEIGHT = 0.4


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with its fused score and the evidence behind it."""

    row: int
    passage: Passage
    score: float
    dense: float
    lexical: float


def rrf(rankings: list[tuple[list[int], float]], k: int = RRF_K) -> dict[int, float]:
    """Weighted reciprocal rank fusion: sum over rankings of weight / (k + rank), rank from 1."""
    fused: dict[int, float] = {}
    for ranking, weight in rankings:
        for rank, row in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank)
    return fused


@dataclass(frozen=True)
class Query:
    """A question as retrieval sees it: its language and the previous turn for follow-ups."""

    text: str
    lang: Lang
    context: str | None = None
    context_lang: Lang | None = None
    # Articles the previous answer cited: a follow-up most likely asks about them again.
    context_articles: tuple[str, ...] = ()

    def groups(self) -> list[QueryGroup]:
        """The weighted lexical token groups of the question and its context."""
        groups = query_groups(self.text, self.lang)
        if self.context:
            groups += query_groups(self.context, self.context_lang or self.lang, weight=CONTEXT_WEIGHT)
        return groups


class Retriever:
    """Ranks the passages of a generation for a query."""

    def __init__(self, embedder: Embedder, dense_weight: float = 1.0, lexical_weight: float = 1.0) -> None:
        self.embedder = embedder
        self.dense_weight = dense_weight
        self.lexical_weight = lexical_weight

    def dense_scores(self, gen: Generation, query: Query) -> dict[int, float]:
        """Cosine similarity of the best candidates to the question (or its context-aware form)."""
        texts = [query.text] + ([f"{query.context} {query.text}"] if query.context else [])
        vectors = self.embedder.encode_queries(texts)
        scores, rows = gen.search_dense(vectors, CANDIDATES)
        out: dict[int, float] = {}
        for qi in range(len(texts)):
            # The context-aware form counts a little less: the question itself should decide.
            factor = 1.0 if qi == 0 else 0.9
            for s, r in zip(scores[qi], rows[qi], strict=True):
                if r >= 0:
                    out[int(r)] = max(out.get(int(r), -1.0), float(s) * factor)
        return out

    def retrieve(self, gen: Generation, query: Query, k: int) -> list[Hit]:
        """The k best passages for the query, best first."""
        n = len(gen)
        if n == 0:
            return []
        dense = self.dense_scores(gen, query)
        lexical = gen.lexical.scores(query.groups(), n)
        lex_top = np.argsort(-lexical)[:CANDIDATES]
        lex_ranking = [int(r) for r in lex_top if lexical[r] > 0]
        dense_ranking = sorted(dense, key=dense.get, reverse=True)
        fused = rrf([(dense_ranking, self.dense_weight), (lex_ranking, self.lexical_weight)])
        if query.context_articles:
            bonus = 0.5 / (RRF_K + 1)
            for row in fused:
                if gen.passages[row].article_id in query.context_articles:
                    fused[row] += bonus
        best = sorted(fused, key=fused.get, reverse=True)[:k]
        return [
            Hit(row, gen.passages[row], fused[row], dense.get(row, 0.0), float(lexical[row]))
            for row in best
        ]
