"""A question analysed once: language, lexical terms and the conversation's context.

Retrieval, follow-up handling and abstention all read this one value; nothing downstream
tokenises the question again.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.index.lexical import query_terms
from bot.core.text import detect_lang
from bot.models import Conversation, Lang


@dataclass(frozen=True)
class Question:
    """What the search needs to know about a question (and the turn it follows, if any)."""

    text: str
    lang: Lang
    # Stemmed terms for BM25, in the question's language and in the other one (names and figures
    # are written alike in both, so an English question still meets a French passage's "MI450").
    terms: tuple[str, ...]
    # The previous question of the conversation and the terms of both together (None on a first turn).
    previous: str | None = None
    previous_terms: tuple[str, ...] = ()

    @property
    def forms(self) -> list[tuple[str, tuple[str, ...]]]:
        """The texts searched for, with their terms: the question alone, then, in a conversation,
        the previous question and this one together.

        A follow-up ("and when will it start?") leans on the previous turn: searched with it, the
        passage about the same subject outranks the rest, while a question that stands alone keeps
        its own ranking through the first form (the retriever takes the better of the two).
        """
        out = [(self.text, self.terms)]
        if self.previous is not None:
            out.append((f"{self.previous} {self.text}", self.previous_terms))
        return out


def analyse(text: str, conversation: Conversation | None = None) -> Question:
    """Analyse a (checked, stripped) question in the context of its conversation."""
    previous = conversation.turns[-1] if conversation and conversation.turns else None
    # A question too short to tell its language ("Et 2027 ?") is taken in the conversation's.
    lang = detect_lang(text, default=previous.answer.lang if previous else "fr")
    terms = query_terms(text, lang)
    if previous is None:
        return Question(text, lang, terms)
    joined = tuple(dict.fromkeys(query_terms(previous.question, previous.answer.lang) + terms))
    return Question(text, lang, terms, previous.question, joined)
