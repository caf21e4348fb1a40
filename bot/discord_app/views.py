"""The buttons under an answer: show the full passages, and vote on the answer.

They are persistent (discord.py DynamicItem): each custom_id carries the answer's id, and what a
click needs is read from the answer store (discord_app/answers.py), so the buttons keep working
after a restart. An answer the store has forgotten gets an ephemeral "expired" reply.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.discord_app.answers import StoredAnswer
from bot.discord_app.errors import describe
from bot.discord_app.feedback import FeedbackLog, Vote
from bot.discord_app.render import passage_messages
from bot.discord_app.sending import NO_MENTIONS, send_private
from bot.models import Answer

if TYPE_CHECKING:
    from bot.discord_app.bot import NewsBot

log = logging.getLogger(__name__)

EXPIRED = "This answer has expired; ask the question again."
THANKS = {
    "up": "Thanks: your 👍 was recorded.",
    "down": "Thanks: your 👎 was recorded; it helps improve the answers.",
}
NO_PASSAGES = "This answer cites no passages."
ALREADY = "Your {emoji} was already recorded for this answer."
EMOJI = {"up": "👍", "down": "👎"}


async def _stored(interaction: discord.Interaction, answer_id: str) -> StoredAnswer | None:
    """The answer a button refers to, or None after telling the user it has expired.

    Acknowledged first: under load the worker threads may all be busy, and Discord wants an
    acknowledgement within 3 s.
    """
    await interaction.response.defer(ephemeral=True, thinking=True)
    bot: NewsBot = interaction.client  # type: ignore[assignment]
    stored = await asyncio.to_thread(bot.feedback.answers.get, answer_id)
    if stored is None:
        await send_private(interaction, EXPIRED)
    return stored


async def _report(interaction: discord.Interaction, error: Exception, what: str) -> None:
    """Same policy as commands: a short private message, a logged traceback if unexpected."""
    try:
        await send_private(interaction, describe(error, f"button {what!r}"))
    except discord.HTTPException:
        log.warning("could not report a button error", exc_info=True)


class ShowPassages(discord.ui.DynamicItem[discord.ui.Button], template=r"newsbot:passages:(?P<id>[0-9a-f]{16})"):
    """Send the full text of the cited passages, to the clicking user only."""

    def __init__(self, answer_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Show passages",
                emoji="📄",
                style=discord.ButtonStyle.secondary,
                custom_id=f"newsbot:passages:{answer_id}",
            )
        )
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> ShowPassages:
        """Rebuild the button from a click, after a restart too."""
        return cls(match["id"])

    async def callback(self, interaction: discord.Interaction) -> Any:
        """Send the stored passages privately, in as many messages as they need."""
        try:
            stored = await _stored(interaction, self.answer_id)
            if stored is None:
                return
            pages = [[discord.Embed.from_dict(e) for e in page] for page in stored.passages]
            if not pages:
                await send_private(interaction, NO_PASSAGES)
                return
            for embeds in pages:
                await interaction.followup.send(embeds=embeds, ephemeral=True, allowed_mentions=NO_MENTIONS)
        except Exception as error:  # noqa: BLE001 - every failure gets a reply; bugs are logged
            await _report(interaction, error, "Show passages")


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"newsbot:vote:(?P<vote>up|down):(?P<id>[0-9a-f]{16})"
):
    """👍 or 👎 on one answer: one vote per user per answer, a later vote replaces the earlier."""

    def __init__(self, vote: Vote, answer_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Helpful" if vote == "up" else "Not helpful",
                emoji=EMOJI[vote],
                style=discord.ButtonStyle.secondary,
                custom_id=f"newsbot:vote:{vote}:{answer_id}",
            )
        )
        self.vote: Vote = vote
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> VoteButton:
        """Rebuild the button from a click, after a restart too."""
        return cls(match["vote"], match["id"])  # type: ignore[arg-type]

    async def callback(self, interaction: discord.Interaction) -> Any:
        """Record the vote and thank the user privately."""
        try:
            stored = await _stored(interaction, self.answer_id)
            if stored is None:
                return
            bot: NewsBot = interaction.client  # type: ignore[assignment]
            entry = await asyncio.to_thread(bot.feedback.record, interaction.user.id, stored, self.vote)
            text = THANKS[self.vote] if entry is not None else ALREADY.format(emoji=EMOJI[self.vote])
            await send_private(interaction, text)
        except Exception as error:  # noqa: BLE001 - every failure gets a reply; bugs are logged
            await _report(interaction, error, EMOJI[self.vote])


# Registered with bot.add_dynamic_items in setup_hook, so clicks on old messages find them.
ANSWER_BUTTONS = (ShowPassages, VoteButton)


async def answer_view(answer: Answer, feedback: FeedbackLog) -> discord.ui.View:
    """Store the answer (off the event loop) and return its persistent buttons."""
    passages = [[e.to_dict() for e in page] for page in passage_messages(answer)] if answer.citations else []
    stored = await asyncio.to_thread(feedback.answers.add, answer, passages)
    view = discord.ui.View(timeout=None)
    if answer.citations and not answer.abstained:
        view.add_item(ShowPassages(stored.id))
    view.add_item(VoteButton("up", stored.id))
    view.add_item(VoteButton("down", stored.id))
    return view
