"""The one place where errors become what the user reads.

Domain errors (BotError) carry their own short message; permission and rate-limit refusals get
a fixed one; anything else is a bug: the user gets an apology and the traceback goes to the log.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.discord_app.sending import retry_text, send_private
from bot.errors import BotError

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side. The error has been logged; please try again later."
NOT_HERE = "This command only works in a server."
# Discord's UI names for the permissions our commands require.
PERMISSION_NAMES = {"manage_guild": "Manage Server"}


def unwrap(error: BaseException) -> BaseException:
    """The exception a command raised, without discord.py's CommandInvokeError wrapper."""
    if isinstance(error, app_commands.CommandInvokeError):
        return error.original
    return error


def permission_name(flag: str) -> str:
    """The name Discord's settings show for a permission flag."""
    return PERMISSION_NAMES.get(flag, flag.replace("_", " ").title())


def user_message(error: BaseException) -> str | None:
    """The short text a user should see for an error, or None when the error is a bug."""
    error = unwrap(error)
    if isinstance(error, BotError):
        return error.user_message
    if isinstance(error, app_commands.CommandOnCooldown):
        return retry_text(error.retry_after)
    if isinstance(error, app_commands.MissingPermissions):
        needed = " and ".join(permission_name(p) for p in error.missing_permissions)
        return f"You need the {needed} permission to use this command; nothing was done."
    if isinstance(error, app_commands.NoPrivateMessage):
        return NOT_HERE
    if isinstance(error, app_commands.CheckFailure):
        return "You cannot use this command here."
    return None


def describe(error: BaseException, context: str) -> str:
    """The user's message for `error`, logging the traceback when it is unexpected."""
    message = user_message(error)
    if message is None:
        original = unwrap(error)
        log.error(
            "unexpected error in %s", context, exc_info=(type(original), original, original.__traceback__)
        )
        return APOLOGY
    log.info("%s refused: %s", context, type(unwrap(error)).__name__)
    return message


class NewsTree(app_commands.CommandTree):
    """The command tree, with the bot's single error handler."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Answer the user privately; log only what is unexpected."""
        name = interaction.command.qualified_name if interaction.command else "an interaction"
        message = describe(error, f"/{name}")
        if interaction.type is discord.InteractionType.autocomplete:
            return  # suggestions cannot carry a message; the user simply sees none
        try:
            await send_private(interaction, message)
        except discord.HTTPException:
            log.warning("could not tell the user about an error in /%s", name, exc_info=True)
