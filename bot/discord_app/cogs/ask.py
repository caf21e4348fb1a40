"""/ask and /search: questions answered with cited passages, and raw passage search."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.conversations import Session
from bot.discord_app.cooldown import BUSY
from bot.discord_app.render import answer_embed, search_embed
from bot.discord_app.sending import NO_MENTIONS, send_private
from bot.discord_app.views import answer_view
from bot.errors import BotError

if TYPE_CHECKING:
    from bot.discord_app.bot import NewsBot

SEARCH_RESULTS = 5


async def rate_limited(interaction: discord.Interaction) -> bool:
    """Check for the per-user cooldown shared by /ask, /search and chat (valid questions only)."""
    bot: NewsBot = interaction.client  # type: ignore[assignment]
    text = getattr(interaction.namespace, "question", None) or getattr(interaction.namespace, "query", "")
    try:
        bot.pipeline.check_question(str(text or ""))
    except BotError:
        return True  # the command refuses it, and a refusal that costs nothing uses no allowance
    retry = bot.cooldown.hit(interaction.user.id)
    if retry is not None:
        cooldown = app_commands.Cooldown(bot.cooldown.rate, bot.cooldown.per)
        raise app_commands.CommandOnCooldown(cooldown, retry)
    return True


class AskCog(commands.Cog):
    """Slash commands that answer questions."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="ask", description="Ask a question about the news articles; the answer cites its sources."
    )
    @app_commands.describe(
        question="Your question, in French or English",
        private="Show the answer only to you (default: everyone in the channel sees it)",
    )
    @app_commands.check(rate_limited)
    async def ask(self, interaction: discord.Interaction, question: str, private: bool = False) -> None:
        """Answer with an embed: the short answer with [n] markers, then the cited passages."""
        # Checked before deferring, so that a refusal stays private even when the answer would be
        # public (after a public defer, the first message replaces the public "thinking…" notice).
        question = self.bot.pipeline.check_question(question)
        if not await self._start(interaction):
            return
        try:
            await interaction.response.defer(thinking=True, ephemeral=private)
            session = self._session(interaction)
            async with session.lock if session else contextlib.nullcontext():
                answer = await asyncio.to_thread(
                    self.bot.pipeline.ask, question, session.conversation if session else None
                )
                # A private answer is not part of what a thread shares: later questions there do not
                # build on a turn the others never saw. In a DM only the asker sees anything anyway.
                if session is not None and (not private or interaction.guild is None):
                    session.conversation.add(question, answer)
        finally:
            self.bot.cooldown.finish()
        view = await answer_view(answer, self.bot.feedback)
        await interaction.followup.send(
            embed=answer_embed(answer), view=view, ephemeral=private, wait=True, allowed_mentions=NO_MENTIONS
        )

    async def _start(self, interaction: discord.Interaction) -> bool:
        """Take an answering slot, or tell the user privately that the bot is busy (their turn refunded)."""
        if self.bot.cooldown.try_start():
            return True
        self.bot.cooldown.refund(interaction.user.id)
        await send_private(interaction, BUSY)
        return False

    def _session(self, interaction: discord.Interaction) -> Session | None:
        """The conversation /ask continues: a thread's or a DM's, the one chat keeps there too."""
        if interaction.guild is None or isinstance(interaction.channel, discord.Thread):
            return self.bot.sessions.get(interaction.channel_id)  # type: ignore[arg-type]
        return None

    @app_commands.command(
        name="search", description="Show the passages closest to a query, with their scores."
    )
    @app_commands.describe(query="Words or a question to look for in the articles")
    @app_commands.check(rate_limited)
    async def search(self, interaction: discord.Interaction, query: str) -> None:
        """Privately list the top passages and their scores, without composing an answer."""
        query = self.bot.pipeline.check_question(query)
        if not await self._start(interaction):
            return
        try:
            await interaction.response.defer(thinking=True, ephemeral=True)
            hits = await asyncio.to_thread(self.bot.pipeline.search, query, SEARCH_RESULTS)
        finally:
            self.bot.cooldown.finish()
        await interaction.followup.send(
            embed=search_embed(query, hits), ephemeral=True, allowed_mentions=NO_MENTIONS
        )
