"""/feeds add|list|remove for the operator's people, and the scheduled poll of every feed.

The poll runs in a worker thread (fetching and extraction never block answers); the index is
updated once per poll under the bot's build lock, then each feed with a channel gets one
changelog message that pings nobody and shows no link previews.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.core.feeds import store
from bot.core.feeds.poll import PollReport, changelog, poll_feeds
from bot.discord_app import limits as L
from bot.discord_app.sending import NO_MENTIONS, send_private
from bot.discord_app.trust import corpus_admin
from bot.errors import BuildInProgress

if TYPE_CHECKING:
    from bot.discord_app.bot import NewsBot

log = logging.getLogger(__name__)

# The first scheduled poll waits a little after start-up, so a restart loop cannot hammer feeds.
FIRST_POLL_DELAY_SECONDS = 60.0


def list_text(feeds: list[store.Feed]) -> str:
    """The followed feeds, one line each, with the last error and next try of a failing one."""
    if not feeds:
        return "No feeds are followed. Add one with /feeds add."
    lines = []
    for f in feeds:
        line = f"• <{f.url}>" + (f" → <#{f.channel_id}>" if f.channel_id else "")
        if f.last_error:
            line += f"\n  last error: {L.one_line(f.last_error)[:300]}"
            if f.failures and f.next_try:
                line += f" (next try <t:{int(f.next_try)}:R>)"
        lines.append(line)
    return L.shorten("\n".join(lines), L.CONTENT)


class FeedsCog(commands.Cog):
    """Feeds followed by the bot."""

    feeds = app_commands.Group(
        name="feeds",
        description="News feeds (RSS, Atom) the bot follows (Manage Server).",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.poll_lock = asyncio.Lock()  # one poll at a time (schedule and tests)
        minutes = bot.settings.feeds.interval_minutes
        if minutes > 0:
            self.poll_loop.change_interval(minutes=minutes)

    @property
    def path(self):
        return store.feeds_path(self.bot.settings.retrieval.corpus_dir, self.bot.settings.feeds.file)

    async def cog_load(self) -> None:
        if self.bot.settings.feeds.interval_minutes > 0:
            self.poll_loop.start()

    async def cog_unload(self) -> None:
        self.poll_loop.cancel()

    @tasks.loop(minutes=30)
    async def poll_loop(self) -> None:
        """Poll the feeds on schedule; a failure is logged and the next round still runs."""
        try:
            await self.poll_once()
        except Exception:
            log.exception("feed poll failed")

    @poll_loop.before_loop
    async def _before(self) -> None:
        await self.bot.wait_until_ready()
        await asyncio.sleep(FIRST_POLL_DELAY_SECONDS)

    async def poll_once(self, force: bool = False) -> PollReport:
        """Poll every feed due, update the index once if anything changed, post the changelogs."""
        s = self.bot.settings
        async with self.poll_lock:
            report = await asyncio.to_thread(
                poll_feeds, s.retrieval.corpus_dir, s.ingest, s.feeds, force
            )
            if report.changed:
                try:
                    async with self.bot.build_lock:
                        await asyncio.to_thread(self.bot.pipeline.update_index)
                except BuildInProgress:
                    log.info("feed articles stored; an index build elsewhere will include them")
            for outcome in report.outcomes:
                if outcome.articles and outcome.feed.channel_id:
                    await self._post(outcome.feed.channel_id, changelog(outcome.articles))
            return report

    async def _post(self, channel_id: int, text: str) -> None:
        channel = self.bot.get_channel(channel_id)
        if channel is None or not hasattr(channel, "send"):
            log.warning("feed changelog channel %s is not available", channel_id)
            return
        try:
            await channel.send(L.shorten(text, L.CONTENT), allowed_mentions=NO_MENTIONS, suppress_embeds=True)
        except discord.HTTPException:
            log.warning("could not post the feed changelog in %s", channel_id, exc_info=True)

    @feeds.command(name="add", description="Follow a news feed (RSS or Atom) (Manage Server).")
    @app_commands.describe(url="The feed's address (http or https)", channel="Where to post what it adds")
    @corpus_admin()
    async def add(
        self, interaction: discord.Interaction, url: str, channel: discord.TextChannel | None = None
    ) -> None:
        """Store the feed; it is read at the next poll."""
        who = f"{interaction.user.name} ({interaction.user.id})"
        # Acknowledged first: the file work runs in the thread pool, which a burst of /ask can keep busy.
        await interaction.response.defer(thinking=True, ephemeral=True)
        feed = await asyncio.to_thread(store.add, self.path, url, channel.id if channel else None, who)
        where = f"; new articles will be announced in {channel.mention}" if channel else ""
        await send_private(interaction, f"Following <{feed.url}>{where}. It is read at the next poll.")

    @feeds.command(name="list", description="The feeds the bot follows, with their last error (Manage Server).")
    @corpus_admin()
    async def list_(self, interaction: discord.Interaction) -> None:
        """Show the feeds privately."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        feeds = await asyncio.to_thread(store.load, self.path)
        await send_private(interaction, list_text(feeds))

    @feeds.command(name="remove", description="Stop following a feed; its articles stay (Manage Server).")
    @app_commands.describe(url="The feed to stop following")
    @corpus_admin()
    async def remove(self, interaction: discord.Interaction, url: str) -> None:
        """Forget the feed."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        feed = await asyncio.to_thread(store.remove, self.path, url)
        await send_private(interaction, f"No longer following <{feed.url}>; its articles stay.")

    @remove.autocomplete("url")
    async def _feed_urls(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        try:
            # Suggestions cannot be deferred: the feeds file is small, read here rather than queued
            # behind a burst of /ask in the thread pool.
            feeds = store.load(self.path)
        except store.FeedError:
            return []
        return [
            app_commands.Choice(name=f.url[:100], value=f.url[:100])
            for f in feeds
            if current.lower() in f.url.lower() and len(f.url) <= 100
        ][:25]

