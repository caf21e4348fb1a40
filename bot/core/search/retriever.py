"""Hybrid retrieval: dense (FAISS) and lexical (BM25) scores fused by a normalised weighted sum."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bot.core.index.embedder import Embedder
from bot.core.index.lexical import MT_PREFIX, Concept, passage_tokens, query_concepts, words
from bot.core.index.store import Generation
from bot.models import Lang, Passage

CANDIDATES = 100
# Weight of a follow-up's previous question, relative to the question itself.
CONTEXT_WEIGHT = 0.4
# Fusion: cosine similarity plus LEXICAL_WEIGHT times the BM25 score divided by the score of a
# passage that would hold every word of the question once (see LexicalIndex.ideal). Both terms
# are then on a comparable 0..1 scale for any corpus size and question length, unlike raw BM25;
# unlike reciprocal rank fusion, a strong lead in one signal is kept. 0.4 was chosen among 0.1-0.6
# on the dev set and on ten more questions about the bundled article (0.3 and 0.5 each lost on one).
LEXICAL_WEIGHT = 0.4
# Added to the passages of the article the previous answer cited, so that a follow-up stays on it
# unless the question clearly points elsewhere.
CONTEXT_ARTICLE_BONUS = 0.15
FOLLOW_UP_OPENERS = {"et", "and", "also", "aussi", "puis", "then", "so", "alors", "donc", "mais", "but"}
FOLLOW_UP_PRONOUNS = {
    "en": {
        "it",
        "its",
        "they",
        "them",
        "their",
        "theirs",
        "this",
        "that",
        "these",
        "those",
        "he",
        "she",
        "him",
        "his",
        "her",
        "hers",
        "one",
        "ones",
    },
    "fr": {
        "il",
        "elle",
        "ils",
        "elles",
        "lui",
        "leur",
        "leurs",
        "son",
        "sa",
        "ses",
        "celui",
        "celle",
        "ceux",
        "celles",
        "cela",
        "ça",
        "y",
    },
}
# Weight of the words of a question's machine translation, relative to its own words (0.4-0.8 gave
# the same results on the dev and held-out sets).
TRANSLATION_WEIGHT = 0.5
# A question with fewer content words than this is read together with the previous one.
MIN_OWN_CONCEPTS = 2
# News articles put the essentials first (the lead): their first passage gets a small head start.
LEAD_BONUS = 0.02
# An overview question ("Que sait-on de la restructuration d'OpenAI ?", "What is AMD's Helios?")
# names an article's subject and asks nothing narrower: each of its words is in that article's
# title. A news article answers it in its lead, so the lead paragraph gets this bonus. Questions
# asking for a figure, a date, a place, a reason or a person are never overviews.
OVERVIEW_BONUS = 0.15
SPECIFIC_WORDS = {"combien", "quand", "où", "pourquoi", "qui", "how", "when", "where", "why", "who"}


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with its fused score and the evidence behind it."""

    row: int
    passage: Passage
    score: float
    dense: float
    lexical: float


@dataclass(frozen=True)
class Query:
    """A question as retrieval sees it: its language and the previous turn for follow-ups."""

    text: str
    lang: Lang
    context: str | None = None
    context_lang: Lang | None = None
    # Articles the previous answer cited: a follow-up most likely asks about them again.
    context_articles: tuple[str, ...] = ()
    # The question machine-translated into English when it is French: the bundled model reads
    # English, so this form is the one searched by meaning (BM25 reads the question as asked).
    translation: str | None = None
    # The previous question in English, when it was French and this one leans on it.
    context_translation: str | None = None

    @property
    def needs_context(self) -> bool:
        """A follow-up too short to stand alone ("et pourquoi ?") borrows the previous question's words."""
        return bool(self.context) and len(query_concepts(self.text, self.lang)) < MIN_OWN_CONCEPTS

    @property
    def is_follow_up(self) -> bool:
        """Whether the question leans on the previous turn: too short to stand alone ("et pourquoi ?"),
        opening with "and"/"et", or using a pronoun ("one of them", "elle")."""
        if not self.context:
            return False
        tokens = words(self.text)
        return (
            self.needs_context
            or bool(tokens)
            and (tokens[0] in FOLLOW_UP_OPENERS or any(t in FOLLOW_UP_PRONOUNS[self.lang] for t in tokens))
        )

    def concepts(self) -> list[Concept]:
        """The weighted lexical concepts of the question (and of its context when it needs it)."""
        concepts = query_concepts(self.text, self.lang)
        if self.translation:
            # The translation's words (in context, unlike the dictionary's word-by-word ones) meet
            # English passages and the English translations of French ones.
            seen = {c.word for c in concepts}
            other: Lang = "en" if self.lang == "fr" else "fr"
            concepts += [
                c
                for c in query_concepts(self.translation, other, weight=TRANSLATION_WEIGHT)
                if c.word not in seen
            ]
        if self.needs_context:
            seen = {c.word for c in concepts}
            concepts += [
                c
                for c in query_concepts(self.context, self.context_lang or self.lang, weight=CONTEXT_WEIGHT)
                if c.word not in seen
            ]
        return concepts


class Retriever:
    """Ranks the passages of a generation for a query."""

    def __init__(
        self, embedder: Embedder, dense_weight: float = 1.0, lexical_weight: float = LEXICAL_WEIGHT
    ) -> None:
        self.embedder = embedder
        self.dense_weight = dense_weight
        self.lexical_weight = lexical_weight

    def dense_scores(self, gen: Generation, query: Query) -> dict[int, float]:
        """Cosine similarity of the best candidates to the question (or its context-aware form)."""
        # A French question is searched by its English translation alone: the model reads English,
        # names and figures survive the translation, and one text to encode keeps the cost of a
        # question as it was (searching both forms gained nothing on the dev and held-out sets).
        texts = [query.translation or query.text]
        factors = [1.0]
        if query.needs_context:
            # The context-aware form counts a little less: the question itself should decide.
            texts.append(f"{query.context_translation or query.context} {query.translation or query.text}")
            factors.append(0.9)
        vectors = self.embedder.encode_queries(texts)
        out: dict[int, float] = {}
        for factor, best in zip(factors, gen.search_dense(vectors, CANDIDATES), strict=True):
            for row, score in best.items():
                out[row] = max(out.get(row, -1.0), score * factor)
        return out

    def retrieve(self, gen: Generation, query: Query, k: int) -> list[Hit]:
        """The k best passages for the query, best first."""
        n = len(gen)
        if n == 0:
            return []
        dense = self.dense_scores(gen, query)
        concepts = query.concepts()
        lexical = gen.lexical.scores(concepts, n)
        ideal = gen.lexical.ideal(concepts[: len(query_concepts(query.text, query.lang))]) or 1.0
        top = np.argpartition(-lexical, CANDIDATES - 1)[:CANDIDATES] if n > CANDIDATES else np.arange(n)
        candidates = set(dense) | {int(r) for r in top if lexical[r] > 0}
        follow_up = query.is_follow_up
        leads = set() if follow_up else _overview_leads(gen, query, candidates)
        candidates |= leads
        fused: dict[int, float] = {}
        for row in candidates:
            score = (
                self.dense_weight * dense.get(row, 0.0) + self.lexical_weight * float(lexical[row]) / ideal
            )
            if follow_up and gen.passages[row].article_id in query.context_articles:
                score += CONTEXT_ARTICLE_BONUS
            if gen.passages[row].position == 0:
                score += LEAD_BONUS
            if row in leads:
                score += OVERVIEW_BONUS
            fused[row] = score
        # One hit per paragraph: citations show whole paragraphs, so a second passage of a paragraph
        # already cited would show the reader the same text again.
        best: list[int] = []
        seen: set[tuple[str, int]] = set()
        for row in sorted(fused, key=fused.get, reverse=True):
            p = gen.passages[row]
            if (p.article_id, p.paragraph) not in seen:
                seen.add((p.article_id, p.paragraph))
                best.append(row)
                if len(best) == k:
                    break
        return [
            Hit(row, gen.passages[row], fused[row], dense.get(row, 0.0), float(lexical[row]) / ideal)
            for row in best
        ]


@lru_cache(maxsize=4096)
def _title_tokens(title: str, title_translation: str | None, lang: Lang) -> frozenset[str]:
    """The lexical tokens of a title, and of its translation as the index writes them."""
    other: Lang = "en" if lang == "fr" else "fr"
    tokens = set(passage_tokens(title, lang))
    tokens |= {MT_PREFIX + t for t in passage_tokens(title_translation or "", other)}
    return frozenset(tokens)


def _overview_leads(gen: Generation, query: Query, candidates: set[int]) -> set[int]:
    """The rows of the lead paragraphs of candidate articles whose title holds every word of an
    overview question (empty when the question is not one)."""
    if any(t in SPECIFIC_WORDS for t in words(query.text)):
        return set()
    concepts = query_concepts(query.text, query.lang)
    if not concepts:
        return set()
    leads: set[int] = set()
    for article_id in {gen.passages[row].article_id for row in candidates}:
        rows = gen.paragraph_rows(article_id, 0)
        if not rows:
            continue
        first = gen.passages[rows[0]]
        title = _title_tokens(first.title, first.title_translation, first.lang)
        if all(any(form in title for form, _ in c.forms) for c in concepts):
            leads.update(rows)
    return leads
