"""Article -> Passage: a few sentences each, with stable ids and offsets in the article."""

from __future__ import annotations

import hashlib

from bot.core.text import clean, paragraph_spans, sentence_spans
from bot.models import Article, Passage

# What a passage's text is; an index built with another version is rebuilt (build.settings_record).
# 2: the article's own characters (’, non-breaking spaces), no longer their plain forms.
TEXT_VERSION = 2

# A passage holds whole sentences up to this many characters, so that a citation points at the
# fact rather than at a whole page; a single longer sentence is cut at a word boundary.
MAX_CHARS = 300
# A paragraph this short (a heading, a lead-in ending in ":") is read with the next one.
MIN_PARAGRAPH = 80
# A citation shows the whole paragraph its passage belongs to (the reader sees the fact in its
# context, and a fact in the sentence next to the one that matched is still in front of them);
# a paragraph longer than this is shown in parts of whole passages.
MAX_PARAGRAPH_CHARS = 700


def passage_id(article_id: str, text: str, occurrence: int = 0) -> str:
    """A stable id: the same text in the same article always gets the same id."""
    digest = hashlib.sha1(f"{article_id}\n{text}".encode()).hexdigest()[:12]
    return digest if occurrence == 0 else f"{digest}-{occurrence}"


def _blocks(text: str) -> list[tuple[int, int]]:
    """Paragraph spans, with short lead-ins and headings joined to the paragraph that follows."""
    blocks: list[tuple[int, int]] = []
    pending: int | None = None
    for start, end in paragraph_spans(text):
        if pending is not None:
            start = pending
            pending = None
        body = text[start:end].rstrip()
        if len(body) < MIN_PARAGRAPH or body.endswith(":"):
            pending = start
            continue
        blocks.append((start, end))
    if pending is not None:
        if blocks and pending > blocks[-1][1]:
            blocks.append((pending, len(text.rstrip())))
        elif not blocks:
            blocks.append((pending, len(text.rstrip())))
    return blocks


def _cut_long(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a span longer than MAX_CHARS at spaces."""
    pieces = []
    while end - start > MAX_CHARS:
        cut = text.rfind(" ", start, start + MAX_CHARS)
        if cut <= start:
            cut = start + MAX_CHARS
        piece_end = cut
        while piece_end > start and text[piece_end - 1].isspace():
            piece_end -= 1
        pieces.append((start, piece_end))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        pieces.append((start, end))
    return pieces


def split_article(article: Article) -> list[Passage]:
    """Split an article into passages of whole sentences, in reading order.

    Sentences are found in the normalised text (clean() keeps every offset), so typography does not
    change where passages start and end; each passage's text is the article's own characters.
    """
    original = article.text
    text = clean(original)
    spans: list[tuple[int, int]] = []
    paragraphs: list[int] = []  # for each span, the index of the paragraph (part) it belongs to
    for b_start, b_end in _blocks(text):
        first = len(spans)
        current: tuple[int, int] | None = None
        last: tuple[int, int] | None = None  # the last piece added to `current`
        for s_start, s_end in sentence_spans(text[b_start:b_end], article.lang):
            s_start, s_end = s_start + b_start, s_end + b_start
            for piece in _cut_long(text, s_start, s_end):
                if current is None:
                    current = piece
                elif piece[1] - current[0] <= MAX_CHARS:
                    current = (current[0], piece[1])
                elif (
                    last is not None
                    and last[0] > current[0]
                    and text[last[0] : last[1]].rstrip().endswith(":")
                    and piece[1] - last[0] <= MAX_CHARS
                ):
                    # A lead-in ("X said:") goes with what it introduces.
                    prev_end = current[0]
                    for _start, b in sentence_spans(text[current[0] : last[0]], article.lang):
                        prev_end = current[0] + b
                    spans.append((current[0], prev_end))
                    current = (last[0], piece[1])
                else:
                    spans.append(current)
                    current = piece
                last = piece
        if current is not None:
            spans.append(current)
        _number_paragraphs(spans, first, paragraphs, original)
    passages: list[Passage] = []
    seen: dict[str, int] = {}
    for position, (start, end) in enumerate(spans):
        body = original[start:end]
        occurrence = seen.get(body, 0)
        seen[body] = occurrence + 1
        passages.append(
            Passage(
                id=passage_id(article.id, body, occurrence),
                article_id=article.id,
                title=article.title,
                text=body,
                start=start,
                end=end,
                lang=article.lang,
                position=position,
                paragraph=paragraphs[position],
            )
        )
    return passages


def _number_paragraphs(
    spans: list[tuple[int, int]], first: int, paragraphs: list[int], text: str
) -> None:
    """Number the spans from `first` on (one source paragraph) as one paragraph, or as several parts
    of at most MAX_PARAGRAPH_CHARS when it is long."""
    number = paragraphs[-1] + 1 if paragraphs else 0
    part_start = None
    previous_end = None
    for start, end in spans[first:]:
        if part_start is None:
            part_start = start
        elif end - part_start > MAX_PARAGRAPH_CHARS or text[previous_end:start] != " ":
            # A citation shows a paragraph as its passages joined by one space (Citation.text): passages
            # the article separates otherwise (a line break, two spaces) start a new part, so that
            # what is shown is always the article's text exactly.
            number += 1
            part_start = start
        previous_end = end
        paragraphs.append(number)
