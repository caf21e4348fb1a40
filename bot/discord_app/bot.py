"""The Bot: the pipeline and settings it is given, the state the cogs share, and start-up."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import discord
from discord.ext import commands, tasks

from bot.config import Settings
from bot.discord_app.conversations import Sessions
from bot.discord_app.cooldown import UserCooldown
from bot.discord_app.errors import NewsTree
from bot.discord_app.feedback import FeedbackLog
from bot.discord_app.health import BEAT_SECONDS, HealthFile
from bot.discord_app.sending import NO_MENTIONS
from bot.discord_app.sync import STATE_FILE, sync_if_changed
from bot.discord_app.views import ANSWER_BUTTONS

if TYPE_CHECKING:
    from bot.core.pipeline import Pipeline

log = logging.getLogger(__name__)


def make_intents(settings: Settings) -> discord.Intents:
    """Default intents, plus message content only when configured (it is privileged)."""
    intents = discord.Intents.default()
    intents.message_content = settings.discord.message_content
    # Presence and typing events are never used; not receiving them saves gateway traffic.
    intents.typing = False
    intents.presences = False
    return intents


class NewsBot(commands.Bot):
    """The Discord bot; everything it needs is passed in (no global state, no token)."""

    def __init__(self, settings: Settings, pipeline: Pipeline, *, command_state: Path | None = None) -> None:
        super().__init__(
            # Only slash commands and chat are used; the prefix is never processed (see on_message).
            command_prefix=commands.when_mentioned,
            intents=make_intents(settings),
            allowed_mentions=NO_MENTIONS,
            tree_cls=NewsTree,
            help_command=None,
        )
        self.settings = settings
        self.pipeline = pipeline
        self.command_state = command_state or settings.retrieval.index_dir / STATE_FILE
        self.sessions = Sessions(maxsize=1000)
        self.cooldown = UserCooldown(
            settings.discord.cooldown_rate, settings.discord.cooldown_seconds, settings.discord.max_concurrent_answers
        )
        self.feedback = FeedbackLog(settings.retrieval.feedback_file)
        # One index build at a time from Discord (/reindex, /ingest); the pipeline also refuses
        # a build started elsewhere (the CLI) with BuildInProgress.
        self.build_lock = asyncio.Lock()
        self.health = HealthFile(settings.discord.health_file) if settings.discord.health_file else None
        self.connected = False

    async def setup_hook(self) -> None:
        """Load the model and index off the event loop, add the cogs, sync commands if they changed."""
        from bot.discord_app.cogs import COGS

        report = await asyncio.to_thread(self.pipeline.warm_up)
        if report is not None and not report.unchanged:
            log.info(
                "index updated at start-up: %d added, %d changed, %d removed",
                len(report.added),
                len(report.changed),
                len(report.removed),
            )
        for cog in COGS:
            await self.add_cog(cog(self))
        self.add_dynamic_items(*ANSWER_BUTTONS)  # answers' buttons keep working after a restart
        await sync_if_changed(self, self.tree, self.command_state, self.settings.discord.dev_guild_id)
        if self.health is not None:
            self.health_beat.start()

    async def on_message(self, message: discord.Message, /) -> None:
        """Do not run prefix commands: chat is handled by the chat cog's listener."""

    async def on_ready(self) -> None:
        """Log who we are, once connected."""
        self.connected = True
        log.info(
            "connected as %s (id %s) to %d servers", self.user, self.user and self.user.id, len(self.guilds)
        )
        self._beat()

    async def on_resumed(self) -> None:
        """The gateway session came back."""
        self.connected = True
        self._beat()

    async def on_disconnect(self) -> None:
        """The gateway dropped: stop refreshing the health file until it is back."""
        self.connected = False

    @tasks.loop(seconds=BEAT_SECONDS)
    async def health_beat(self) -> None:
        """Refresh the health file while connected."""
        self._beat()

    def _beat(self) -> None:
        if self.health is not None and self.connected and not self.is_closed():
            latency = self.latency if self.latency != float("inf") else None
            try:
                self.health.beat(latency)
            except OSError:
                log.warning("could not write the health file %s", self.health.path, exc_info=True)

    async def close(self) -> None:
        """Stop cleanly: the health file goes first, so a checker never sees a stopping bot as healthy."""
        self.connected = False
        if self.health is not None:
            self.health_beat.cancel()
            self.health.clear()
        await super().close()
