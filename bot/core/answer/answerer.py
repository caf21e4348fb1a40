"""(question, ranked passages) -> Answer: the passage that answers, cited, or an honest refusal."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.index.lexical import MT_PREFIX, cognate, concept, content_words, stem, words
from bot.core.index.store import Generation
from bot.core.ingest.passages import MAX_CHARS
from bot.core.search.retriever import Hit
from bot.core.text import fold
from bot.models import Answer, Citation, Lang

# A passage is at most passages.MAX_CHARS long: the answer never cuts it, this only guards the bound.
MAX_ANSWER_CHARS = MAX_CHARS

NO_ANSWER = {
    "fr": "Les articles ne répondent pas à cette question.",
    "en": "The articles don't answer this question.",
}
CLOSEST = {"fr": "Articles les plus proches : ", "en": "Closest articles: "}


@dataclass(frozen=True)
class Evidence:
    """How well the best passage supports an answer, in [0, 1] terms where possible."""

    dense: float  # cosine of the best passage to the question
    coverage: float  # idf-weighted share of the question's words found in the best passages
    unknown_names: int  # capitalised question words the corpus never mentions in any form

    @property
    def confidence(self) -> float:
        """One number: semantic closeness plus word coverage, minus names the corpus does not know."""
        return self.dense + 0.5 * self.coverage - 0.35 * self.unknown_names


def _forms(word: str, lang: Lang) -> set[str]:
    """Every token a question word can match in a passage's own text (not its translation)."""
    return {t for t, _ in concept(word, lang).forms if not t.startswith(MT_PREFIX)}


class Answerer:
    """Builds the answer from the best passage and decides when to abstain."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def evidence(self, gen: Generation, question: str, lang: Lang, hits: list[Hit]) -> Evidence:
        """Measure how well the retrieved passages cover the question."""
        if not hits:
            return Evidence(0.0, 0.0, 0)
        qwords = list(dict.fromkeys(content_words(question, lang)))
        weights, found, unknown = 0.0, 0.0, 0
        passage_tokens = set()
        for h in hits[:3]:
            passage_tokens |= _tokens_of(h.passage.text + " " + h.passage.title, h.passage.lang)
        for w in qwords:
            forms = _forms(w, lang)
            idf = max((gen.lexical.idf(f) for f in forms), default=0.0)
            if fold(w) not in gen.lexical.vocabulary and _is_name(question, w):
                unknown += 1
            weight = idf if idf > 0 else 1.0
            weights += weight
            if forms & passage_tokens:
                found += weight
        coverage = found / weights if weights else 0.0
        return Evidence(max(h.dense for h in hits), coverage, unknown)

    def answer(self, gen: Generation, question: str, lang: Lang, hits: list[Hit], k: int) -> Answer:
        """Build the Answer: the best sentence with its [n] marker, or a refusal in the question's language."""
        evidence = self.evidence(gen, question, lang, hits)
        if not hits or evidence.confidence < self.threshold:
            return self.abstain(question, lang, hits)
        citations = tuple(
            Citation(i + 1, h.passage, h.score, tuple(gen.paragraph(h.row))) for i, h in enumerate(hits[:k])
        )
        text = self._short_answer(citations)
        return Answer(question=question, text=text, citations=citations, abstained=False, lang=lang)

    def abstain(self, question: str, lang: Lang, hits: list[Hit]) -> Answer:
        """The refusal, naming the closest articles so the user knows where to look."""
        titles = tuple(dict.fromkeys(h.passage.title for h in hits))[:2]
        text = NO_ANSWER[lang]
        if titles:
            text += (
                " "
                + CLOSEST[lang]
                + " ; ".join(f"« {t} »" if lang == "fr" else f'"{t}"' for t in titles)
                + "."
            )
        return Answer(
            question=question, text=text, citations=(), abstained=True, lang=lang, suggestions=titles
        )

    def _short_answer(self, citations: tuple[Citation, ...]) -> str:
        """The best passage itself, marked [1]: one or two sentences of one paragraph, at most
        passages.MAX_CHARS long, so the fact is in it whichever sentence holds it."""
        return f"{_trim(citations[0].passage.text, MAX_ANSWER_CHARS)} [1]"


def _tokens_of(text: str, lang: Lang) -> set[str]:
    out = set()
    for w in words(text):
        out.add(stem(w, lang))
        c = cognate(w)
        if c:
            out.add(c)
    return out


def _is_name(question: str, word: str) -> bool:
    """Whether `word` appears capitalised in the question other than as its first word."""
    for m in re.finditer(r"\b" + re.escape(word) + r"\b", question, re.IGNORECASE):
        if m.start() > 0 and question[m.start()].isupper():
            return True
    return False


def _trim(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 1)
    return text[: cut if cut > 0 else limit - 1] + "…"
