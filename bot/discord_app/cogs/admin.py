"""/reindex and /ingest: changing the corpus and the index, for the operator's people only.

Manage Server is declared to Discord (default_permissions, which hides the commands from other
members), and who may really run them is checked when the command runs (trust.py): a server admin
can override the command's visibility, and Manage Server of any server is not enough.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.audit import Action, audit_path, record
from bot.core.ingest.add import IngestResult, ingest_bytes, ingest_url
from bot.core.ingest.remove import REMOVED_DIR, remove_articles
from bot.discord_app import limits as L
from bot.discord_app.cogs.library import UnknownArticle, article_choices, find_article
from bot.discord_app.render import update_text
from bot.discord_app.sending import NO_MENTIONS, send_private
from bot.discord_app.trust import corpus_admin
from bot.errors import BotError, BuildInProgress, IngestError
from bot.models import UpdateReport

if TYPE_CHECKING:
    from bot.discord_app.bot import NewsBot

log = logging.getLogger(__name__)


def ingest_text(result: IngestResult, passages: int | None, report: UpdateReport) -> str:
    """What /ingest reports once the article is stored and indexed."""
    verb = "Updated" if result.status == "updated" else "Added"
    count = f"{passages} passages" if passages is not None else "its passages"
    return L.shorten(
        f"{verb} “{L.one_line(result.title)}” (`{result.article_id}`): {count}. "
        f"The index switched to generation `{report.generation}`; questions now use it.",
        L.CONTENT,
    )


class AdminCog(commands.Cog):
    """Index maintenance from Discord."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    async def _busy(self, interaction: discord.Interaction) -> bool:
        """Tell the user and return True when a build started from Discord is still running."""
        if self.bot.build_lock.locked():
            await send_private(interaction, BuildInProgress().user_message)
            return True
        return False

    async def _update(self, rebuild: bool = False) -> UpdateReport:
        # A worker thread: the bot keeps answering from the current index while the new one builds.
        return await asyncio.to_thread(self.bot.pipeline.update_index, rebuild)

    @app_commands.command(
        name="reindex", description="Update the index from the corpus folder (Manage Server)."
    )
    @app_commands.describe(full="Re-embed every article instead of only new and changed ones (slower)")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @corpus_admin()
    async def reindex(self, interaction: discord.Interaction, full: bool = False) -> None:
        """Build a new index generation and report what changed."""
        if await self._busy(interaction):
            return
        async with self.bot.build_lock:
            await interaction.response.defer(thinking=True, ephemeral=True)
            log.info("/reindex (full=%s) by user %s", full, interaction.user.id)
            report = await self._update(rebuild=full)
            self._record(interaction, "reindexed", None, f"generation {report.generation}")
            await interaction.followup.send(update_text(report), ephemeral=True, allowed_mentions=NO_MENTIONS)

    def _record(
        self, interaction: discord.Interaction, action: Action, article_id: str | None, source: str | None
    ) -> None:
        """Write who changed the corpus or the index, from which server, to the change log."""
        record(
            audit_path(self.bot.settings.retrieval.corpus_dir), action, article_id, source,
            interaction.user.id, interaction.user.name, interaction.guild_id,
        )

    @app_commands.command(
        name="remove", description="Remove an article from the corpus and the index (Manage Server)."
    )
    @app_commands.describe(article="The article to remove (suggestions appear as you type)")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @corpus_admin()
    async def remove(self, interaction: discord.Interaction, article: str) -> None:
        """Move the article to corpus/.removed/, update the index once, report the result."""
        try:
            # From the article list in memory (block=False): never a file read or a generation load here.
            article_id = find_article(self.bot.pipeline.articles(block=False), article).id
        except UnknownArticle:
            article_id = article  # a file not indexed yet can still be removed by its id
        if await self._busy(interaction):
            return
        async with self.bot.build_lock:
            await interaction.response.defer(thinking=True, ephemeral=True)
            corpus = self.bot.settings.retrieval.corpus_dir
            [removed] = await asyncio.to_thread(remove_articles, corpus, [article_id])
            log.info("/remove by user %s: %s", interaction.user.id, removed)
            self._record(interaction, "removed", removed, removed)
            kept = f"The file is kept in `{REMOVED_DIR}/`; `python -m bot restore {removed}` brings it back."
            try:
                report = await self._update()
            except BuildInProgress:
                text = f"Removed `{removed}` from the corpus; an index build started elsewhere is running, "
                text += "it will be gone from the index when that build finishes. " + kept
            else:
                text = f"Removed `{removed}`: the index switched to generation `{report.generation}`. " + kept
            await interaction.followup.send(
                L.shorten(text, L.CONTENT), ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    @remove.autocomplete("article")
    async def remove_names(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Suggest articles of the live index matching what the user typed."""
        # Suggestions cannot be deferred: they come from the article list in memory, not the thread pool.
        return article_choices(self.bot.pipeline.articles(block=False), current)

    @app_commands.command(
        name="ingest",
        description="Add an article from a file or a web page, then update the index (Manage Server).",
    )
    @app_commands.describe(
        file="A Markdown, text or HTML file to add",
        url="The address (http or https) of a web page to add",
    )
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @corpus_admin()
    async def ingest(
        self, interaction: discord.Interaction, file: discord.Attachment | None = None, url: str | None = None
    ) -> None:
        """Store the article in the corpus folder, update the index, report the result."""
        if (file is None) == (url is None):
            raise BotError("Give either a file or a url (one of the two).")
        limit = self.bot.settings.ingest.max_bytes
        # Checked against the size Discord declares, before downloading anything.
        if file is not None and file.size > limit:
            raise IngestError(
                f"Cannot add {file.filename}: it is {file.size:,} bytes and the limit is {limit:,} bytes."
            )
        if await self._busy(interaction):
            return
        async with self.bot.build_lock:
            await interaction.response.defer(thinking=True, ephemeral=True)
            corpus = self.bot.settings.retrieval.corpus_dir
            who = f"{interaction.user.name} ({interaction.user.id})"
            if file is not None:
                data = await file.read()
                result = await asyncio.to_thread(ingest_bytes, data, file.filename, corpus, limit, who)
            else:
                assert url is not None
                result = await asyncio.to_thread(ingest_url, url, corpus, self.bot.settings.ingest, who)
            log.info("/ingest by user %s: %s %s", interaction.user.id, result.status, result.article_id)
            if result.status != "duplicate":
                # Who changed the corpus, from where: written before the index update, which may fail.
                record(
                    audit_path(corpus), result.status, result.article_id,
                    url if url is not None else file.filename if file else None,
                    interaction.user.id, interaction.user.name, interaction.guild_id,
                )
            if result.status == "duplicate":
                known = result.duplicate_of or result.article_id
                text = f"This article is already in the corpus as `{known}`; nothing changed."
            else:
                try:
                    report = await self._update()
                except BuildInProgress:
                    text = (
                        f"Stored “{L.one_line(result.title)}” (`{result.article_id}`). An index build "
                        "started elsewhere is running; the article will be in the index when it finishes."
                    )
                    await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
                    return
                infos = await asyncio.to_thread(self.bot.pipeline.articles)
                passages = next((a.passages for a in infos if a.id == result.article_id), None)
                text = ingest_text(result, passages, report)
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
