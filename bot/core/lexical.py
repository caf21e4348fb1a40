"""Lexical side of retrieval: French/English tokenisation and a bm25s index over passages.

Each passage is stemmed in its own language. A question is expanded into weighted groups of
tokens (its own words, their translations, words of the previous turn) and the BM25 scores of
the groups are added with their weights, so that an English question can meet a French passage.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.core.crosslingual import translate_word
from bot.core.text import clean, fold
from bot.models import Lang

# Interrogatives and fillers of questions: they say nothing about which passage answers.
_QUESTION_WORDS = {
    "fr": "quel quels quelle quelles combien comment pourquoi quand où qui que quoi lequel laquelle "
    "lesquels est-ce sait-on dit selon article articles parle peut peux pouvez",
    "en": "what which who whom whose when where why how much many does did do is are was were "
    "according article articles tell say says said about me please",
}
_ELISION = re.compile(r"\b(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu|quoiqu)'", re.IGNORECASE)
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]\w*", re.UNICODE)
COGNATE_PREFIX = 5


@lru_cache(maxsize=2)
def _stemmer(lang: Lang):
    import Stemmer

    return Stemmer.Stemmer("french" if lang == "fr" else "english")


@lru_cache(maxsize=2)
def stopwords(lang: Lang) -> frozenset[str]:
    """Stop words of a language (bm25s's lists plus question words), accents folded."""
    import bm25s.stopwords as sw

    base = sw.STOPWORDS_FRENCH if lang == "fr" else sw.STOPWORDS_EN_PLUS
    return frozenset(fold(w) for w in list(base) + _QUESTION_WORDS[lang].split())


def words(text: str) -> list[str]:
    """Lowercased word and number tokens, French elisions ("l'", "qu'") removed."""
    text = _ELISION.sub(" ", clean(text))
    return [m.group(0).lower() for m in _TOKEN.finditer(text)]


def content_words(text: str, lang: Lang) -> list[str]:
    """The words of `text` that are not stop words (in either language: questions mix them)."""
    stop = stopwords(lang) | stopwords("en" if lang == "fr" else "fr")
    return [w for w in words(text) if fold(w) not in stop and len(w) > 1 or w.isdigit()]


def stem(word: str, lang: Lang) -> str:
    """The folded stem of one word in `lang`."""
    return fold(_stemmer(lang).stemWord(word))


def cognate(word: str) -> str | None:
    """A folded prefix token shared by many English/French cognates, or None for short words."""
    # English and French share many Latin roots (capacity/capacité, investment/investissement):
    # a short folded prefix lets them meet when no dictionary entry exists.
    f = fold(word)
    return "~" + f[:COGNATE_PREFIX] if len(f) >= COGNATE_PREFIX + 1 and f.isalpha() else None


def passage_tokens(text: str, lang: Lang) -> list[str]:
    """Tokens indexed for a passage: stems in its language plus cognate prefixes."""
    out: list[str] = []
    for w in content_words(text, lang):
        out.append(stem(w, lang))
        c = cognate(w)
        if c:
            out.append(c)
    return out


@dataclass(frozen=True)
class QueryGroup:
    """Tokens scored together, and the weight of their BM25 score in the sum."""

    tokens: tuple[str, ...]
    weight: float


def query_groups(text: str, lang: Lang, weight: float = 1.0) -> list[QueryGroup]:
    """Weighted token groups for a question: its stems in both languages, translations, cognates."""
    other: Lang = "en" if lang == "fr" else "fr"
    own, translated, cognates = [], [], []
    for w in content_words(text, lang):
        own.append(stem(w, lang))
        # Names and figures are written alike in both languages; their stems in the other language
        # catch the rest of the shared vocabulary.
        own.append(stem(w, other))
        for t in translate_word(w, lang, other):
            translated.extend(stem(x, other) for x in words(t))
        c = cognate(w)
        if c:
            cognates.append(c)
    groups = [QueryGroup(tuple(dict.fromkeys(own)), weight)]
    if translated:
        groups.append(QueryGroup(tuple(dict.fromkeys(translated)), 0.6 * weight))
    if cognates:
        groups.append(QueryGroup(tuple(dict.fromkeys(cognates)), 0.5 * weight))
    return groups


class LexicalIndex:
    """A bm25s index over passage tokens, saved without pickle."""

    def __init__(self, model) -> None:
        self._bm25 = model
        self._vocab: dict[str, int] = model.vocab_dict
        # Document frequency of each token, from the sparse matrix's column pointers.
        self._df = np.diff(model.scores["indptr"])
        self._n = int(model.scores["num_docs"])

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> LexicalIndex:
        """Index one token list per passage (row order = passage order)."""
        import bm25s

        model = bm25s.BM25()
        # An empty passage would make bm25s drop a row: keep the rows aligned with the passages.
        model.index([t or ["\u2205"] for t in token_lists], show_progress=False)
        return cls(model)

    def save(self, folder: Path) -> None:
        """Write the index to `folder` (numpy and JSON files only)."""
        self._bm25.save(str(folder), allow_pickle=False, show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        """Read an index written by `save`."""
        import bm25s

        return cls(bm25s.BM25.load(str(folder), allow_pickle=False, mmap=False))

    def scores(self, groups: list[QueryGroup], n_rows: int) -> np.ndarray:
        """The weighted sum of BM25 scores of each group, one score per passage."""
        total = np.zeros(n_rows, dtype=np.float32)
        for g in groups:
            known = [t for t in g.tokens if t in self._vocab]
            if known:
                total += g.weight * self._bm25.get_scores(known)[:n_rows]
        return total

    def idf(self, token: str) -> float:
        """How rare a token is in the corpus (0 when absent)."""
        tid = self._vocab.get(token)
        if tid is None or tid >= len(self._df):
            return 0.0
        df = int(self._df[tid])
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    def has(self, token: str) -> bool:
        """Whether the token occurs in some passage."""
        return token in self._vocab
