"""Discord's size limits, and cutting text cleanly to fit them."""

from __future__ import annotations

import re

CONTENT = 2000
TITLE = 256
DESCRIPTION = 4096
FIELD_NAME = 256
FIELD_VALUE = 1024
FIELDS = 25
FOOTER = 2048
EMBED_TOTAL = 6000
EMBEDS_PER_MESSAGE = 10
CHOICE_NAME = 100
CHOICES = 25
THREAD_NAME = 100

ELLIPSIS = "…"
_SPACES = re.compile(r"\s+")


def one_line(text: str) -> str:
    """Collapse runs of whitespace (newlines included) into single spaces."""
    return _SPACES.sub(" ", text).strip()


def shorten(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else cut at a word boundary and ended with "…"."""
    text = text.strip()
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    # Cut at the last word boundary unless that throws away most of the room (one huge word).
    if space >= limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + ELLIPSIS
