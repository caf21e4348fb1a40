"""(question, ranked passages) -> Answer: the passage that answers, cited, or an honest refusal."""

from __future__ import annotations

import re

from bot.core.index.store import Generation
from bot.core.ingest.passages import MAX_CHARS
from bot.core.search.retriever import Hit, Ranking
from bot.models import Answer, Citation, Lang

# A passage is at most passages.MAX_CHARS long: the answer never cuts it, this only guards the bound.
MAX_ANSWER_CHARS = MAX_CHARS

NO_ANSWER = {
    "fr": "Les articles ne répondent pas à cette question.",
    "en": "The articles don't answer this question.",
}
CLOSEST = {"fr": "Articles les plus proches : ", "en": "Closest articles: "}


class Answerer:
    """Builds the answer from the best passage and decides when to abstain."""

    def __init__(self, threshold: float) -> None:
        # The lowest cosine between the question and its closest passage that still counts as
        # evidence; it depends on the model's score scale (see config.MODEL_DEFAULTS).
        self.threshold = threshold

    def confident(self, ranking: Ranking) -> bool:
        """Whether the passage the answer would cite first is close enough in meaning to answer from.

        The cited passage itself must be close, not merely one ranked after it: with the best cosine
        of the top three, a closer passage ranked third vouched for an unrelated first one, and
        "Combien coûte un billet de TGV ?" was answered on dev2. The reader sees the first citation.
        So must the passage ranked first before the re-reading (`Ranking.lead`): word by word,
        "Quel est le cours du bitcoin aujourd'hui ?" put first a passage a little closer to it than
        the first stage's best, and was answered on benchmarks/heldout.
        """
        hits = ranking.hits
        return bool(hits) and min(hits[0].dense, ranking.lead) >= self.threshold

    def answer(self, gen: Generation, question: str, lang: Lang, ranking: Ranking, k: int) -> Answer:
        """Build the Answer: the best sentence with its [n] marker, or a refusal in the question's language."""
        hits = ranking.hits
        if not self.confident(ranking):
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


# Line breaks and runs of spaces; the article's non-breaking spaces are kept as written.
_BREAKS = re.compile(r"[^\S\u00a0\u202f]+")


def _trim(text: str, limit: int) -> str:
    text = _BREAKS.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 1)
    return text[: cut if cut > 0 else limit - 1] + "…"
