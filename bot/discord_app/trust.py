"""Who may change the corpus: the operator's servers, or else the application's owner and team.

The bot has one corpus shared by every server it is in, so Manage Server alone is not enough:
anyone who invites the bot to a server of their own has it there. With DISCORD_ADMIN_GUILD_IDS
set, only Manage Server members of those servers may change the corpus; with it empty, only the
application's owner (or its team's members, from Discord's application info) may, in any server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands

from bot.errors import BotError

if TYPE_CHECKING:
    from bot.discord_app.bot import NewsBot

log = logging.getLogger(__name__)

T = TypeVar("T")
REFUSAL = "Only the bot's operators can change the articles it knows; nothing was done."
# Where the owner ids are cached on the bot, with when they were asked for: application info changes
# only when the team does, so it is asked again after OWNER_CACHE_SECONDS (a member removed from the
# team loses the right within that time without a restart).
_CACHE = "_corpus_owner_ids"
OWNER_CACHE_SECONDS = 600.0


def _now() -> float:
    return time.monotonic()


class NotTrusted(BotError, app_commands.CheckFailure):
    """The user may not change the corpus from here (a BotError, so the tree shows its message)."""

    def __init__(self) -> None:
        super().__init__(REFUSAL)


async def owner_ids(bot: NewsBot) -> frozenset[int]:
    """The application's owner and team members, asked of Discord and cached for OWNER_CACHE_SECONDS."""
    cached = getattr(bot, _CACHE, None)
    if cached is not None and _now() - cached[1] < OWNER_CACHE_SECONDS:
        return cached[0]
    info = await bot.application_info()
    ids = {info.owner.id}
    if info.team is not None:
        ids.update(member.id for member in info.team.members)
    found = frozenset(ids)
    setattr(bot, _CACHE, (found, _now()))
    return found


async def may_change_corpus(interaction: discord.Interaction) -> bool:
    """True when the user may change the corpus; raises NotTrusted or MissingPermissions when not."""
    bot: NewsBot = interaction.client  # type: ignore[assignment]
    listed = bot.settings.discord.admin_guild_ids
    if listed:
        if interaction.guild_id not in listed:
            raise NotTrusted()
        if not interaction.permissions.manage_guild:
            raise app_commands.MissingPermissions(["manage_guild"])
        return True
    if interaction.user.id not in await owner_ids(bot):
        raise NotTrusted()
    return True


def corpus_admin() -> Callable[[T], T]:
    """The check every command that changes the corpus carries, run before the command answers."""
    return app_commands.check(may_change_corpus)
