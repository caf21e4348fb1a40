"""/articles, /article and /about: what the bot knows."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import limits as L
from bot.discord_app.render import about_embed, article_embed, articles_embed
from bot.discord_app.sending import NO_MENTIONS
from bot.errors import BotError
from bot.models import ArticleInfo

if TYPE_CHECKING:
    from bot.core.pipeline import Pipeline
    from bot.discord_app.bot import NewsBot

OPENING_CHARS = 700


class UnknownArticle(BotError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"No article matches “{L.shorten(name, 100)}”. Pick one of the suggestions while typing, "
            "or list them all with /articles."
        )


def article_choices(articles: Sequence[ArticleInfo], typed: str) -> list[app_commands.Choice[str]]:
    """Up to 25 articles whose title or id contains what was typed, those starting with it first."""
    needle = typed.casefold().strip()
    ranked = []
    for info in articles:
        title, ident = info.title.casefold(), info.id.casefold()
        if needle and needle not in title and needle not in ident:
            continue
        starts = title.startswith(needle) or ident.startswith(needle)
        ranked.append((not starts, title, info))
    ranked.sort(key=lambda r: (r[0], r[1]))
    # The value is the id, sent back when chosen; longer ids cannot be choice values (100 chars).
    return [
        app_commands.Choice(name=L.shorten(L.one_line(info.title) or info.id, L.CHOICE_NAME), value=info.id)
        for _, _, info in ranked
        if len(info.id) <= L.CHOICE_NAME
    ][: L.CHOICES]


def find_article(articles: Sequence[ArticleInfo], name: str) -> ArticleInfo:
    """The article whose id or title is `name` (or the only one containing it)."""
    wanted = name.strip().casefold()
    for info in articles:
        if wanted in (info.id.casefold(), info.title.casefold()):
            return info
    matches = [a for a in articles if wanted and (wanted in a.title.casefold() or wanted in a.id.casefold())]
    if len(matches) == 1:
        return matches[0]
    raise UnknownArticle(name)


def opening(pipeline: Pipeline, article_id: str, chars: int = OPENING_CHARS) -> str:
    """The first passages of an article, up to about `chars` characters, paragraphs kept apart."""
    text = ""
    paragraph = None
    # block=False: a switch to a new generation loads in the background, never in this command.
    for p in pipeline.passages(article_id, block=False):
        if len(text) >= chars:
            break
        # Passages of one paragraph read on as one text; a new paragraph starts after a blank line.
        text += (" " if p.paragraph == paragraph else "\n\n") + p.text if text else p.text
        paragraph = p.paragraph
    return L.shorten(text, chars)


class LibraryCog(commands.Cog):
    """Commands that describe the corpus and the index.

    Each is acknowledged within Discord's 3 seconds whatever the load: what is already in memory is
    read on the event loop (block=False: never a file read, never a generation load), without the
    shared thread pool, which a burst of /ask can keep busy for seconds.
    """

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="articles", description="List the articles the bot knows, with dates and passage counts."
    )
    async def articles(self, interaction: discord.Interaction) -> None:
        """Privately list the articles."""
        infos = self.bot.pipeline.articles(block=False)
        await interaction.response.send_message(
            embed=articles_embed(infos), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="article", description="Show one article: its details and first lines.")
    @app_commands.describe(name="The article's title or identifier (suggestions appear as you type)")
    async def article(self, interaction: discord.Interaction, name: str) -> None:
        """Privately show one article's facts and opening."""
        # An unknown name is refused at once, privately, before anything is deferred.
        info = find_article(self.bot.pipeline.articles(block=False), name)
        # Acknowledged before the passages are gathered: a scan of the whole index, in the pool.
        await interaction.response.defer(thinking=True, ephemeral=True)
        text = await asyncio.to_thread(opening, self.bot.pipeline, info.id)
        await interaction.followup.send(
            embed=article_embed(info, text), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @article.autocomplete("name")
    async def article_names(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Suggest articles matching what the user typed."""
        # Suggestions cannot be deferred: they come from the article list in memory.
        return article_choices(self.bot.pipeline.articles(block=False), current)

    @app_commands.command(
        name="about", description="Show facts about the index: articles, passages, model, build time."
    )
    async def about(self, interaction: discord.Interaction) -> None:
        """Privately show the live index's facts."""
        info = self.bot.pipeline.about(block=False)
        await interaction.response.send_message(
            embed=about_embed(info), ephemeral=True, allowed_mentions=NO_MENTIONS
        )
