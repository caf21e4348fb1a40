"""Lexical side of retrieval: French/English tokenisation and a bm25s index over passages.

Each passage is stemmed in its own language. A question is expanded into weighted groups of
tokens (its own words, their translations, words of the previous turn) and the BM25 scores of
the groups are added with their weights, so that an English question can meet a French passage.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.core.search.crosslingual import translate_word
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
COGNATE_PREFIX = 5
# How much a translated word or a shared prefix counts, relative to the word itself.
TRANSLATION_FACTOR = 0.8
COGNATE_FACTOR = 0.6
# Tokens of a passage's machine translation carry this prefix, and count this much.
MT_PREFIX = "t:"
MT_FACTOR = 0.8
VOCABULARY = "vocabulary.json"


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
class Concept:
    """One word of a question and every token that can stand for it, each with a factor.

    A concept counts once however many of its forms a passage holds, so that a word with a
    translation and a cognate does not outweigh a word with a single form.
    """

    word: str
    forms: tuple[tuple[str, float], ...]
    weight: float


def concept(word: str, lang: Lang, weight: float = 1.0) -> Concept:
    """The forms of one question word: its stems in both languages, translations, cognate."""
    other: Lang = "en" if lang == "fr" else "fr"
    forms: dict[str, float] = {}

    def add(token: str, factor: float) -> None:
        forms[token] = max(forms.get(token, 0.0), factor)

    own = stem(word, lang)
    add(own, 1.0)
    # Names and figures are written alike in both languages: the other language's stem catches them.
    add(stem(word, other), 0.9)
    # A passage in the other language, through its machine translation into this one.
    add(MT_PREFIX + own, MT_FACTOR)
    for t in translate_word(word, lang, other):
        for x in words(t):
            add(stem(x, other), TRANSLATION_FACTOR)
    c = cognate(word)
    if c:
        add(c, COGNATE_FACTOR)
    return Concept(word, tuple(forms.items()), weight)


def query_concepts(text: str, lang: Lang, weight: float = 1.0) -> list[Concept]:
    """The concepts of a question's content words."""
    return [concept(w, lang, weight) for w in dict.fromkeys(content_words(text, lang))]


class LexicalIndex:
    """A bm25s index over passage tokens, saved without pickle."""

    def __init__(self, model, vocabulary: frozenset[str] = frozenset()) -> None:
        self._bm25 = model
        # Every word of the corpus as written (folded, not stemmed): "Paris" must not pass for "pari".
        self.vocabulary = vocabulary
        self._vocab: dict[str, int] = model.vocab_dict
        # Document frequency of each token, from the sparse matrix's column pointers.
        self._df = np.diff(model.scores["indptr"])
        self._n = int(model.scores["num_docs"])

    @classmethod
    def build(cls, token_lists: list[list[str]], texts: list[str] = ()) -> LexicalIndex:
        """Index one token list per passage (row order = passage order); `texts` give the vocabulary."""
        import bm25s

        model = bm25s.BM25()
        # An empty passage would make bm25s drop a row: keep the rows aligned with the passages.
        model.index([t or ["\u2205"] for t in token_lists], show_progress=False)
        return cls(model, frozenset(fold(w) for t in texts for w in words(t)))

    def save(self, folder: Path) -> None:
        """Write the index to `folder` (numpy and JSON files only)."""
        self._bm25.save(str(folder), allow_pickle=False, show_progress=False)
        (folder / VOCABULARY).write_text(
            json.dumps(sorted(self.vocabulary), ensure_ascii=False), encoding="utf-8"
        )

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        """Read an index written by `save`."""
        import bm25s

        vocabulary = frozenset(json.loads((folder / VOCABULARY).read_text(encoding="utf-8")))
        return cls(bm25s.BM25.load(str(folder), allow_pickle=False, mmap=False), vocabulary)

    def scores(self, concepts: list[Concept], n_rows: int) -> np.ndarray:
        """Per passage, the sum over concepts of the best BM25 score among each concept's forms."""
        total = np.zeros(n_rows, dtype=np.float32)
        for c in concepts:
            best = None
            for token, factor in c.forms:
                if token in self._vocab:
                    s = factor * self._bm25.get_scores([token])[:n_rows]
                    best = s if best is None else np.maximum(best, s)
            if best is not None:
                total += c.weight * best
        return total

    def ideal(self, concepts: list[Concept]) -> float:
        """About the score of a passage holding each concept once: scales scores to [0, ~1]."""
        total = 0.0
        for c in concepts:
            # The word as written when the corpus has it; else its best stand-in. A rare cognate or
            # translation must not inflate what a full match of a common word is worth.
            native = self.idf(c.forms[0][0])
            total += c.weight * (native or max((f * self.idf(t) for t, f in c.forms), default=0.0))
        return total

    def idf(self, token: str) -> float:
        """How rare a token is in the corpus (0 when absent)."""
        tid = self._vocab.get(token)
        if tid is None or tid >= len(self._df):
            return 0.0
        df = int(self._df[tid])
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))
