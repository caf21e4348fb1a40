"""Lexical side of retrieval: French/English terms and a bm25s index over passages.

Each passage is stemmed in its own language (Snowball, stop words removed). A question's terms are
its words stemmed in its own language and in the other one: names and figures are written alike
in both, so they meet passages of either language; the meaning across languages is the dense
model's job, not the lexical side's.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.core.text import clean, fold
from bot.models import Lang

# Interrogatives and fillers of questions: they say nothing about which passage answers.
_QUESTION_WORDS = {
    "fr": "quel quels quelle quelles combien comment pourquoi quand où qui que quoi lequel laquelle "
    "lesquels est-ce sait sait-on dit selon article articles parle peut peux pouvez",
    "en": "what which who whom whose when where why how much many does did do is are was were "
    "according article articles tell say says said about me please could would should might will can may",
}
_ELISION = re.compile(r"\b(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu|quoiqu)'", re.IGNORECASE)
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]\w*", re.UNICODE)


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


def passage_terms(text: str, lang: Lang) -> list[str]:
    """Terms indexed for a passage: the stems of its content words in its own language."""
    return [stem(w, lang) for w in content_words(text, lang)]


def query_terms(text: str, lang: Lang) -> tuple[str, ...]:
    """A question's terms: each content word stemmed in the question's language and in the other."""
    other: Lang = "en" if lang == "fr" else "fr"
    out: dict[str, None] = {}
    for w in content_words(text, lang):
        out[stem(w, lang)] = None
        out[stem(w, other)] = None
    return tuple(out)


class LexicalIndex:
    """A bm25s index over passage terms, saved without pickle."""

    def __init__(self, model) -> None:
        self._bm25 = model
        self._vocab: dict[str, int] = model.vocab_dict

    @classmethod
    def build(cls, term_lists: list[list[str]]) -> LexicalIndex:
        """Index one term list per passage (row order = passage order)."""
        import bm25s

        model = bm25s.BM25()
        # An empty passage would make bm25s drop a row: keep the rows aligned with the passages.
        model.index([t or ["\u2205"] for t in term_lists], show_progress=False)
        return cls(model)

    def save(self, folder: Path) -> None:
        """Write the index to `folder` (numpy and JSON files only)."""
        self._bm25.save(str(folder), allow_pickle=False, show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        """Read an index written by `save`."""
        import bm25s

        return cls(bm25s.BM25.load(str(folder), allow_pickle=False, mmap=False))

    def scores(self, terms: tuple[str, ...] | list[str], n_rows: int) -> np.ndarray:
        """The BM25 score of every passage for the terms (zeros when the corpus has none of them)."""
        known = [t for t in dict.fromkeys(terms) if t in self._vocab]
        if not known:
            return np.zeros(n_rows, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known)[:n_rows], dtype=np.float32)
