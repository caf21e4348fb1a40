"""Frozen values that cross layers: articles, passages, citations, answers, conversations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Lang = Literal["fr", "en"]


@dataclass(frozen=True)
class Article:
    """One article of the corpus; `id` is its path relative to the corpus folder."""

    id: str
    title: str
    text: str
    lang: Lang
    checksum: str
    date: str | None = None
    url: str | None = None
    author: str | None = None
    # Where the article came from (front matter `source_url`, else `url`) and who added it
    # (`added_by`, written by /ingest and feeds): shown by /articles and /article.
    source_url: str | None = None
    added_by: str | None = None


@dataclass(frozen=True)
class Passage:
    """A few sentences of one article, cited as a unit; `start`/`end` are offsets in the article text."""

    id: str
    article_id: str
    title: str
    text: str
    start: int
    end: int
    lang: Lang
    position: int
    # The paragraph of the article the passage is part of (numbered from 0 in reading order): a
    # citation shows the whole paragraph.
    paragraph: int
    # The passage machine-translated into the other language, one line per sentence (or None).
    translation: str | None = None
    title_translation: str | None = None


@dataclass(frozen=True)
class Citation:
    """A passage cited by an answer, numbered from 1 as in the answer's [n] markers."""

    number: int
    passage: Passage
    score: float
    # The passages of the paragraph `passage` is part of (itself included), in reading order: what
    # the reader is shown, so that the matched sentences are seen in their context.
    paragraph: tuple[Passage, ...] = ()

    @property
    def text(self) -> str:
        """The cited paragraph (the passage alone when the paragraph is not known)."""
        return " ".join(p.text for p in self.paragraph) if self.paragraph else self.passage.text

    @property
    def translation(self) -> str | None:
        """The machine translation of `text`, when every passage of it has one."""
        parts = self.paragraph or (self.passage,)
        if any(not p.translation for p in parts):
            return None
        return " ".join(" ".join(p.translation.split()) for p in parts if p.translation)

    def to_json(self) -> dict:
        """The citation in the evaluation set's batch format (`text` the paragraph, `quote` the passage)."""
        return {
            "source": self.passage.article_id,
            "title": self.passage.title,
            "passage_id": self.passage.id,
            "text": self.text,
            "quote": self.passage.text,
            "score": round(float(self.score), 4),
        }


@dataclass(frozen=True)
class Answer:
    """What the bot says to a question: a short text with [n] markers and the citations behind it."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    abstained: bool
    lang: Lang
    latency_ms: float = 0.0
    # Titles of the closest articles, offered when the bot abstains.
    suggestions: tuple[str, ...] = ()

    def to_json(self, id: str | None = None) -> dict:
        """The answer in the batch output format of the evaluation set (`id` first when given)."""
        out: dict = {} if id is None else {"id": id}
        out.update(
            answer=self.text,
            abstained=self.abstained,
            citations=[c.to_json() for c in self.citations],
            latency_ms=round(self.latency_ms, 2),
        )
        return out


@dataclass(frozen=True)
class Turn:
    """One question and the answer it got, kept so that follow-ups can be understood."""

    question: str
    answer: Answer


@dataclass
class Conversation:
    """The recent turns of one conversation (a terminal chat, a Discord thread, a batch group)."""

    turns: list[Turn] = field(default_factory=list)
    max_turns: int = 6

    def add(self, question: str, answer: Answer) -> None:
        """Record a turn, forgetting the oldest beyond `max_turns`."""
        self.turns.append(Turn(question, answer))
        del self.turns[: -self.max_turns]


@dataclass(frozen=True)
class ArticleInfo:
    """What `/articles` and `python -m bot` list for one article."""

    id: str
    title: str
    date: str | None
    lang: Lang
    passages: int
    url: str | None = None
    source_url: str | None = None
    added_by: str | None = None


@dataclass(frozen=True)
class IndexInfo:
    """Facts about the live index, for `/about`."""

    articles: int
    passages: int
    model: str
    dimension: int
    built_at: str
    generation: str
    faiss_index: str


@dataclass(frozen=True)
class UpdateReport:
    """What an index build changed, compared with the previous generation."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    passages_embedded: int
    passages_total: int
    generation: str
    skipped: tuple[str, ...] = ()  # files that could not be read, with the reason

    @property
    def unchanged(self) -> bool:
        """True when the build found nothing to add, change or remove."""
        return not (self.added or self.changed or self.removed)
