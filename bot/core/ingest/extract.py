"""Text out of HTML pages, with trafilatura (boilerplate, menus and scripts left out)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import IngestError


@dataclass(frozen=True)
class ExtractedPage:
    """The readable content of an HTML page and the metadata found in it."""

    title: str | None
    text: str
    date: str | None = None
    author: str | None = None
    url: str | None = None


def extract_html(html: str, url: str | None = None) -> ExtractedPage:
    """Extract the main text and metadata of an HTML document; raises IngestError when there is none."""
    # Imported here: trafilatura pulls lxml and friends, which the CLI's fast paths do not need.
    import trafilatura

    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        favor_precision=True,
    )
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if not text:
        # favor_precision can drop everything on short pages; retry in the default mode.
        text = (trafilatura.extract(html, url=url, include_comments=False) or "").strip()
    if not text:
        raise IngestError("No article text could be extracted from this HTML page.")
    return ExtractedPage(
        title=(getattr(doc, "title", None) or None) if doc is not None else None,
        text=text,
        date=(getattr(doc, "date", None) or None) if doc is not None else None,
        author=(getattr(doc, "author", None) or None) if doc is not None else None,
        url=url,
    )
