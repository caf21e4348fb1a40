"""How every message leaves the bot: never pinging anyone, private when it is a refusal."""

from __future__ import annotations

import math
from typing import Any

import discord

from bot.discord_app.limits import CONTENT, shorten

# A question or an article may contain "@everyone" or a user id: it must stay text. Set on the Bot
# as the default and passed on every send, so no code path can forget it.
NO_MENTIONS = discord.AllowedMentions.none()


def retry_text(seconds: float) -> str:
    """The message for a user who is rate-limited."""
    return f"You are asking too fast: try again in {max(1, math.ceil(seconds))} s."


async def send_private(interaction: discord.Interaction, content: str | None = None, **kwargs: Any) -> None:
    """Reply only to the user who acted, whether or not the interaction was already acknowledged."""
    if content is not None:
        kwargs["content"] = shorten(content, CONTENT)
    if interaction.response.is_done():
        await interaction.followup.send(ephemeral=True, allowed_mentions=NO_MENTIONS, **kwargs)
    else:
        await interaction.response.send_message(ephemeral=True, allowed_mentions=NO_MENTIONS, **kwargs)
