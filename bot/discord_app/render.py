"""Turning answers, passages and index facts into Discord embeds that always fit Discord's limits.

Every function here is pure (no I/O): it takes the pipeline's values and returns embeds or text,
so the limits can be tested without a client. Budgets are worked out up front, then checked
against Discord's 6000-character total with `len(embed)`, which counts what Discord counts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

import discord

from bot.discord_app import limits as L
from bot.models import Answer, ArticleInfo, Citation, IndexInfo, UpdateReport

ANSWER_COLOUR = discord.Colour.blurple()
ABSTAIN_COLOUR = discord.Colour.light_grey()
ADMIN_COLOUR = discord.Colour.green()
# Article titles make field names; beyond this they crowd out the quotes.
NAME_CAP = 120
# The least a cited quote keeps when the answer text competes with it for room.
MIN_QUOTE = 160
MIN_FIELD_VALUE = 40
# Line breaks and runs of spaces, but not the article's non-breaking spaces: a quote keeps them.
_BREAKS = re.compile(r"[^\S\u00a0\u202f]+")
# A source link longer than this is shown as its host: a cut URL would lead somewhere else.
MAX_SOURCE_LINK = 300
# Characters that would end `<url>` or a code span early, so the rest would render as Markdown.
_URL_BREAKERS = re.compile(r"[\s<>`]")


def quote_line(text: str) -> str:
    """A quote on one line (a block quote cannot hold a line break), its characters otherwise as written."""
    return _BREAKS.sub(" ", text).strip()


def source_line(citation: Citation) -> str:
    """Where a citation comes from: article id and passage id, in code spans."""
    p = citation.passage
    return f"`{p.article_id}` · passage `{p.id}`"


def _water_fill(needs: list[int], budget: int, cap: int) -> list[int]:
    """Share `budget` among items needing `needs` characters, each at most `cap`: small needs first."""
    out = [0] * len(needs)
    remaining = budget
    order = sorted(range(len(needs)), key=lambda i: needs[i])
    for rank, i in enumerate(order):
        share = remaining // (len(needs) - rank)
        out[i] = max(0, min(needs[i], cap, share))
        remaining -= out[i]
    return out


def _quote_field(name: str, body: str, tail: str, room: int) -> tuple[str, str]:
    """A field showing `body` as a block quote cut to fit `room` characters, with `tail` below it."""
    prefix, sep = "> ", "\n"
    text_room = room - len(prefix) - len(sep) - len(tail)
    if text_room < 20:
        return name, L.shorten(tail, room)
    return name, f"{prefix}{L.shorten(quote_line(body), text_room)}{sep}{tail}"


def _fit_total(embed: discord.Embed) -> discord.Embed:
    """Last guard: drop trailing fields until the embed is inside Discord's total (should not trigger)."""
    while len(embed) > L.EMBED_TOTAL and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    if len(embed) > L.EMBED_TOTAL and embed.description:
        over = len(embed) - L.EMBED_TOTAL
        embed.description = L.shorten(embed.description, len(embed.description) - over)
    return embed


def _cited_fields(citations: Sequence[Citation], budget: int) -> list[tuple[str, str]]:
    """(name, value) pairs for citations sharing `budget` characters (names included)."""
    names = [L.shorten(f"[{c.number}] {L.one_line(c.passage.title)}", NAME_CAP) for c in citations]
    tails = [source_line(c) for c in citations]
    needs = [len(c.passage.text) + len(t) + 3 for c, t in zip(citations, tails, strict=True)]
    rooms = _water_fill(needs, budget - sum(len(n) for n in names), L.FIELD_VALUE)
    return [
        _quote_field(name, c.passage.text, tail, room)
        for name, c, tail, room in zip(names, citations, tails, rooms, strict=True)
    ]


def answer_embed(answer: Answer) -> discord.Embed:
    """The answer as an embed: the short text with [n] markers, then one field per cited passage."""
    title = L.shorten(L.one_line(answer.question), L.TITLE)
    if answer.abstained:
        return _abstain_embed(answer, title)
    citations = list(answer.citations)
    hidden = 0
    # Keep room for at least a short quote per field; beyond that, say how many were left out.
    max_fields = min(L.FIELDS, (L.EMBED_TOTAL - 1500) // (NAME_CAP + MIN_FIELD_VALUE))
    if len(citations) > max_fields:
        hidden = len(citations) - max_fields
        citations = citations[:max_fields]
    footer = f"{len(answer.citations)} passage(s) cited"
    if hidden:
        footer += f" · {hidden} not shown here (Show passages lists them)"
    if answer.latency_ms:
        footer += f" · {answer.latency_ms / 1000:.1f} s"
    fixed = len(title) + len(footer)
    names = sum(min(NAME_CAP, len(c.passage.title) + 6) for c in citations)
    reserve = names + sum(min(MIN_QUOTE, len(c.passage.text)) + 80 for c in citations)
    description = L.shorten(answer.text, max(200, min(L.DESCRIPTION, L.EMBED_TOTAL - fixed - reserve)))
    embed = discord.Embed(title=title, description=description, colour=ANSWER_COLOUR)
    budget = L.EMBED_TOTAL - fixed - len(description)
    for name, value in _cited_fields(citations, budget):
        embed.add_field(name=name, value=value, inline=False)
    embed.set_footer(text=footer)
    return _fit_total(embed)


def _abstain_embed(answer: Answer, title: str) -> discord.Embed:
    """An abstention: the text saying the articles do not answer, and the closest articles."""
    embed = discord.Embed(
        title=title, description=L.shorten(answer.text, L.DESCRIPTION - 1500), colour=ABSTAIN_COLOUR
    )
    # The pipeline's text may already name the closest articles; list them only if it does not.
    if answer.suggestions and not all(s in answer.text for s in answer.suggestions):
        lines = "\n".join(f"• {L.shorten(L.one_line(s), 200)}" for s in answer.suggestions[:10])
        name = "Articles les plus proches" if answer.lang == "fr" else "Closest articles"
        embed.add_field(name=name, value=L.shorten(lines, L.FIELD_VALUE), inline=False)
    return _fit_total(embed)


def with_translation(citation: Citation, lang: str) -> str:
    """The cited paragraph, followed by its machine translation when it is not in the reader's language."""
    translation = citation.translation
    if not translation or citation.passage.lang == lang:
        return citation.text
    label = "Traduction automatique" if lang == "fr" else "Machine translation"
    return f"{citation.text}\n\n*{label} :* {translation}"


def passage_messages(answer: Answer) -> list[list[discord.Embed]]:
    """The full text of every cited passage, one embed each, packed into as few messages as fit."""
    embeds = []
    for c in answer.citations:
        title = L.shorten(f"[{c.number}] {L.one_line(c.passage.title)}", L.TITLE)
        footer = f"{c.passage.article_id} · passage {c.passage.id} · score {c.score:.3f}"
        footer = L.shorten(footer, 300)
        room = min(L.DESCRIPTION, L.EMBED_TOTAL - len(title) - len(footer))
        embed = discord.Embed(
            title=title, description=L.shorten(with_translation(c, answer.lang), room), colour=ANSWER_COLOUR
        )
        embed.set_footer(text=footer)
        embeds.append(embed)
    messages: list[list[discord.Embed]] = []
    size = 0
    for embed in embeds:
        if not messages or len(messages[-1]) >= L.EMBEDS_PER_MESSAGE or size + len(embed) > L.EMBED_TOTAL:
            messages.append([])
            size = 0
        messages[-1].append(embed)
        size += len(embed)
    return messages


def search_embed(query: str, citations: Sequence[Citation]) -> discord.Embed:
    """The top passages for a search, with their scores."""
    title = L.shorten(f"Passages for: {L.one_line(query)}", L.TITLE)
    if not citations:
        return discord.Embed(title=title, description="No passage found.", colour=ABSTAIN_COLOUR)
    embed = discord.Embed(title=title, colour=ANSWER_COLOUR)
    citations = list(citations)[: L.FIELDS]
    scored = [
        (L.shorten(f"{i}. {L.one_line(c.passage.title)}", NAME_CAP - 20) + f" · {c.score:.3f}", c)
        for i, c in enumerate(citations, 1)
    ]
    budget = L.EMBED_TOTAL - len(title) - sum(len(n) for n, _ in scored)
    tails = [source_line(c) for _, c in scored]
    needs = [len(c.passage.text) + len(t) + 3 for (_, c), t in zip(scored, tails, strict=True)]
    for (name, c), tail, room in zip(scored, tails, _water_fill(needs, budget, L.FIELD_VALUE), strict=True):
        field_name, value = _quote_field(name, c.passage.text, tail, room)
        embed.add_field(name=field_name, value=value, inline=False)
    return _fit_total(embed)


def safe_url(url: str | None) -> str | None:
    """`url` without any user name or password, or None when it is not a plain http(s) link."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    # Credentials are refused at ingest, but a hand-placed file's `url` may still carry some.
    netloc = parts.netloc.rpartition("@")[2]
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    if _URL_BREAKERS.search(clean) or not clean.isprintable():
        return None
    return clean


def source_text(url: str | None) -> str | None:
    """Where an article came from, as Markdown: `<url>` (a link without a preview), or its host when
    the link is too long; None when unknown."""
    clean = safe_url(url)
    if clean is None:
        return None
    if len(clean) <= MAX_SOURCE_LINK:
        return f"<{clean}>"
    return f"`{urlsplit(clean).hostname}`"


def article_line(info: ArticleInfo) -> str:
    """One line of /articles: title, date, passage count, id (the file name) and source link if known."""
    date = f" · {info.date}" if info.date else ""
    source = source_text(info.source_url)
    tail = f" · {source}" if source else ""
    return (
        f"• **{L.shorten(L.one_line(info.title), 150)}**{date} · {info.passages} passages · `{info.id}`{tail}"
    )


def articles_embed(articles: Sequence[ArticleInfo]) -> discord.Embed:
    """The list of articles; past the description limit, says how many more there are."""
    embed = discord.Embed(title=f"Articles ({len(articles)})", colour=ANSWER_COLOUR)
    if not articles:
        embed.description = "The corpus is empty."
        return embed
    lines: list[str] = []
    used = 0
    room = L.DESCRIPTION - 60  # keeps room for the "and N more" line
    for info in articles:
        line = article_line(info)
        if used + len(line) + 1 > room:
            break
        lines.append(line)
        used += len(line) + 1
    if len(lines) < len(articles):
        lines.append(f"… and {len(articles) - len(lines)} more: use /article to look one up.")
    embed.description = "\n".join(lines)
    return embed


def article_embed(info: ArticleInfo, opening: str | None) -> discord.Embed:
    """One article: its facts and its first lines."""
    embed = discord.Embed(
        title=L.shorten(L.one_line(info.title), L.TITLE),
        description=L.shorten(opening, 1500) if opening else None,
        colour=ANSWER_COLOUR,
        url=link if (link := safe_url(info.source_url or info.url)) and len(link) <= 2048 else None,
    )
    embed.add_field(name="Identifier", value=L.shorten(f"`{info.id}`", L.FIELD_VALUE))
    embed.add_field(name="Passages", value=str(info.passages))
    embed.add_field(name="Language", value=info.lang)
    if info.date:
        embed.add_field(name="Date", value=L.shorten(info.date, 100))
    if source := source_text(info.source_url):
        embed.add_field(name="Source", value=source, inline=False)
    if info.added_by:
        who = discord.utils.escape_markdown(L.shorten(L.one_line(info.added_by), 100))
        embed.add_field(name="Added by", value=who)
    return _fit_total(embed)


def about_embed(info: IndexInfo) -> discord.Embed:
    """Facts about the live index."""
    embed = discord.Embed(title="About this index", colour=ANSWER_COLOUR)
    for name, value in (
        ("Articles", str(info.articles)),
        ("Passages", str(info.passages)),
        ("Model", f"`{info.model}` ({info.dimension} dimensions)"),
        ("Index type", info.faiss_index),
        ("Built", info.built_at),
        ("Generation", f"`{info.generation}`"),
    ):
        embed.add_field(name=name, value=L.shorten(value, L.FIELD_VALUE), inline=name != "Model")
    return _fit_total(embed)


def _names(label: str, ids: Sequence[str]) -> str:
    if not ids:
        return ""
    shown = ", ".join(f"`{i}`" for i in ids[:10])
    more = f" and {len(ids) - 10} more" if len(ids) > 10 else ""
    return f"\n{label}: {shown}{more}"


def update_text(report: UpdateReport) -> str:
    """What a build changed, in one message."""
    if report.unchanged:
        text = f"The index is already up to date ({report.passages_total} passages)."
    else:
        text = (
            f"Index updated: {len(report.added)} added, {len(report.changed)} changed, "
            f"{len(report.removed)} removed ({report.passages_embedded} passages embedded, "
            f"{report.passages_total} in total). The bot now answers from generation `{report.generation}`."
        )
        text += _names("Added", report.added) + _names("Changed", report.changed)
        text += _names("Removed", report.removed)
    if report.skipped:
        text += _names("Skipped (could not be read)", report.skipped)
    return L.shorten(text, L.CONTENT)
