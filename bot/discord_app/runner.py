"""Running the bot for real: the token is unwrapped here and nowhere else."""

from __future__ import annotations

import asyncio
import logging
import signal

import discord

from bot.config import Settings
from bot.discord_app.bot import NewsBot
from bot.errors import BotError

log = logging.getLogger(__name__)

NO_TOKEN = "DISCORD_TOKEN is not set: put the bot token in the environment or in .env."
BAD_TOKEN = (
    "Discord rejected the token (DISCORD_TOKEN). Copy it again from the Developer Portal "
    "(your application > Bot > Reset Token) and make sure it is the bot token, not the client secret."
)
NO_INTENT = (
    "Discord refused the privileged Message Content intent. Either enable it in the Developer Portal "
    "(your application > Bot > Privileged Gateway Intents > Message Content Intent), or set "
    "DISCORD_MESSAGE_CONTENT=false (mentions and DMs keep working; follow-ups in threads then need "
    "a mention)."
)


def startup_error(error: BaseException) -> str | None:
    """The clear message for an error that stops the bot at start-up, or None if it is a bug."""
    if isinstance(error, discord.LoginFailure):
        return BAD_TOKEN
    if isinstance(error, discord.PrivilegedIntentsRequired):
        return NO_INTENT
    if isinstance(error, BotError):
        return error.user_message
    return None


async def serve(bot: NewsBot, token: str) -> None:
    """Run until the connection ends or SIGTERM/SIGINT arrives, then close cleanly."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, lambda s=sig: _stop(bot, s))
        except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
            pass
    async with bot:
        await bot.start(token)


def _stop(bot: NewsBot, sig: signal.Signals) -> None:
    log.info("received %s: closing the connection", sig.name)
    asyncio.ensure_future(bot.close())


def run_bot(settings: Settings) -> int:
    """Connect to Discord and serve until stopped; return the process exit code."""
    from bot.discord_app import create_bot

    if settings.discord.token is None or not settings.discord.token.get_secret_value().strip():
        log.error(NO_TOKEN)
        return 1
    bot = create_bot(settings)
    try:
        asyncio.run(serve(bot, settings.discord.token.get_secret_value().strip()))
    except (discord.LoginFailure, discord.PrivilegedIntentsRequired, BotError) as error:
        log.error(startup_error(error))
        return 1
    finally:
        if bot.health is not None:
            bot.health.clear()
    log.info("bot stopped")
    return 0
