"""The buttons under an answer: show the full passages, and vote on the answer."""

from __future__ import annotations

import asyncio
import logging

import discord

from bot.discord_app.errors import describe
from bot.discord_app.feedback import FeedbackLog, Vote
from bot.discord_app.render import passage_messages
from bot.discord_app.sending import NO_MENTIONS, send_private
from bot.models import Answer

log = logging.getLogger(__name__)

# An interaction token lives 15 minutes: past that, an ephemeral answer can no longer be edited,
# so the buttons are taken off a little before.
TIMEOUT = 14 * 60
THANKS = {
    "up": "Thanks: your 👍 was recorded.",
    "down": "Thanks: your 👎 was recorded; it helps improve the answers.",
}


class AnswerView(discord.ui.View):
    """Buttons attached to one answer; they stop working (and are removed) after TIMEOUT."""

    def __init__(self, answer: Answer, feedback: FeedbackLog, *, timeout: float = TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.answer = answer
        self.feedback = feedback
        # Set by the sender, so that the buttons can be removed when they expire.
        self.message: discord.Message | discord.WebhookMessage | None = None
        if not answer.citations or answer.abstained:
            self.remove_item(self.show_passages)

    @discord.ui.button(label="Show passages", emoji="📄", style=discord.ButtonStyle.secondary)
    async def show_passages(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        """Send the full text of the cited passages, to the clicking user only."""
        messages = passage_messages(self.answer)
        await interaction.response.send_message(
            embeds=messages[0], ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        for embeds in messages[1:]:
            await interaction.followup.send(embeds=embeds, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @discord.ui.button(label="Helpful", emoji="👍", style=discord.ButtonStyle.secondary)
    async def vote_up(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        """Record a positive vote."""
        await self._vote(interaction, "up")

    @discord.ui.button(label="Not helpful", emoji="👎", style=discord.ButtonStyle.secondary)
    async def vote_down(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        """Record a negative vote."""
        await self._vote(interaction, "down")

    async def _vote(self, interaction: discord.Interaction, vote: Vote) -> None:
        await asyncio.to_thread(self.feedback.record, interaction.user.id, self.answer, vote)
        await interaction.response.send_message(THANKS[vote], ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def on_timeout(self) -> None:
        """Take the expired buttons off the message, so nobody clicks a dead button."""
        if self.message is None:
            return
        try:
            await self.message.edit(view=None)
        except discord.HTTPException:
            log.debug("could not remove expired buttons", exc_info=True)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item
    ) -> None:
        """Same policy as commands: a short private message, a logged traceback if unexpected."""
        try:
            await send_private(interaction, describe(error, f"button {getattr(item, 'label', item)!r}"))
        except discord.HTTPException:
            log.warning("could not report a button error", exc_info=True)
