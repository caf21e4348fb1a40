"""Front matter read with a bounded YAML loader: no aliases or anchors, limited size and depth.

Aliases let a few hundred bytes expand to gigabytes ("billion laughs") and hold the GIL for
seconds, so user-supplied front matter is never given to a full YAML loader.
"""

from __future__ import annotations

import re

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent

MAX_FRONT_MATTER_CHARS = 16_000
MAX_DEPTH = 20
# The same boundary python-frontmatter uses, so stored articles read as before.
_BOUNDARY = re.compile(r"^-{3,}\s*$", re.MULTILINE)


class FrontMatterError(ValueError):
    """Front matter refused; the message says why in a few words."""


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that refuses aliases and anchors and limits nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            raise FrontMatterError("it uses YAML aliases, which are not accepted")
        if isinstance(event, (ScalarEvent, CollectionStartEvent)) and event.anchor is not None:
            raise FrontMatterError("it uses YAML anchors, which are not accepted")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise FrontMatterError(f"it is nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def parse_yaml(text: str) -> object:
    """The value of a small YAML document; FrontMatterError when it is too big, deep or uses aliases."""
    if len(text) > MAX_FRONT_MATTER_CHARS:
        raise FrontMatterError(f"it is longer than {MAX_FRONT_MATTER_CHARS:,} characters")
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise FrontMatterError(f"it is not valid YAML ({exc.__class__.__name__})") from exc
    except FrontMatterError:
        raise
    except (ValueError, OverflowError) as exc:
        # The timestamp constructor builds dates itself: "date: 2025-13-45" raises ValueError.
        raise FrontMatterError(f"it has a value that cannot be read ({exc})") from exc
    finally:
        loader.dispose()


def loads(content: str) -> tuple[dict, str]:
    """(front matter, body) of a document; a document without front matter has an empty mapping."""
    text = content.strip()
    if not text.startswith("---") or not _BOUNDARY.match(text):
        return {}, text
    parts = _BOUNDARY.split(text, 2)
    if len(parts) < 3:  # no closing boundary: python-frontmatter also treats it as plain text
        return {}, text
    _, front, body = parts
    value = parse_yaml(front)
    if value is None:
        return {}, body.strip()
    if not isinstance(value, dict):
        raise FrontMatterError("it is not a list of `key: value` fields")
    return value, body.strip()
