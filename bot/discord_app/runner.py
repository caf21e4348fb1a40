"""Running the bot for real: the token is unwrapped here and nowhere else."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable

import aiohttp
import discord
from discord.utils import MISSING
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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


# sysexits.h EX_TEMPFAIL: Discord was unreachable; a supervisor may try again later.
UNREACHABLE_EXIT = 75
# Errors meaning "no route to Discord right now", as opposed to a refusal by Discord.
TRANSIENT = (OSError, aiohttp.ClientError, asyncio.TimeoutError, discord.DiscordServerError)
FIRST_DELAY = 1.0
MAX_DELAY = 30.0


class StartupSettings(BaseSettings):
    """How long start-up keeps trying to reach Discord (DISCORD_STARTUP_RETRY_SECONDS)."""

    model_config = SettingsConfigDict(env_prefix="DISCORD_", env_file=".env", extra="ignore")

    startup_retry_seconds: float = Field(300.0, ge=0)


class DiscordUnreachable(Exception):
    """Discord could not be reached within the start-up retry window."""

    def __init__(self, waited: float, reason: str) -> None:
        super().__init__(reason)
        self.waited = waited
        self.reason = reason

    def __str__(self) -> str:
        return (
            f"Discord is still unreachable after {self.waited:.0f} s ({self.reason}): giving up "
            f"(exit {UNREACHABLE_EXIT}; DISCORD_STARTUP_RETRY_SECONDS sets how long to try)."
        )


def describe(error: BaseException) -> str:
    """A short reason for a network error, without a traceback."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:200]


async def login_with_retry(
    bot: NewsBot,
    token: str,
    window: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    first: float = FIRST_DELAY,
    cap: float = MAX_DELAY,
) -> None:
    """Log in, retrying with exponential backoff while Discord is unreachable, for up to `window` seconds."""
    start = clock()
    delay = first
    warned = False
    while True:
        try:
            await bot.login(token)
            if warned:
                log.info("Discord reached after %.0f s", clock() - start)
            return
        except TRANSIENT as error:
            reason = describe(error)
            # A fresh connector next time: the failed session closed the old one.
            await bot.http.close()
            bot.http.connector = MISSING
            waited = clock() - start
            if waited >= window:
                raise DiscordUnreachable(waited, reason) from None
            if not warned:
                log.warning(
                    "Discord could not be reached (%s): retrying with backoff for up to %.0f s", reason, window
                )
                warned = True
            else:
                log.debug("Discord still unreachable (%s): next try in %.0f s", reason, delay)
            # The last wait ends at the window, so the final attempt is made just at its end.
            await asyncio.sleep(min(delay, window - waited))
            delay = min(delay * 2, cap)


async def _watch_first_connection(bot: NewsBot, window: float) -> DiscordUnreachable | None:
    """Close the bot if the gateway never becomes ready within the window (discord.py retries forever)."""
    try:
        await asyncio.wait_for(bot.wait_until_ready(), timeout=window)
    except asyncio.TimeoutError:
        await bot.close()
        return DiscordUnreachable(window, "the gateway did not answer")
    return None


def startup_error(error: BaseException) -> str | None:
    """The clear message for an error that stops the bot at start-up, or None if it is a bug."""
    if isinstance(error, discord.LoginFailure):
        return BAD_TOKEN
    if isinstance(error, discord.PrivilegedIntentsRequired):
        return NO_INTENT
    if isinstance(error, BotError):
        return error.user_message
    return None


async def serve(bot: NewsBot, token: str, window: float = 300.0) -> None:
    """Log in (retrying while Discord is unreachable), run until stopped by SIGTERM/SIGINT, close cleanly.

    `window` bounds both the login retries and the wait for the first gateway session (counted from
    the end of login, which includes loading the index).
    """
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, lambda s=sig: _stop(bot, s, stopping))
        except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
            pass
    async with bot:
        # A signal during the login retries ends them at once: closing the bot alone would not stop
        # the retry loop, and `docker stop` would wait its 10 s and kill the process.
        login = asyncio.ensure_future(login_with_retry(bot, token, window))
        stop_wait = asyncio.ensure_future(stopping.wait())
        await asyncio.wait({login, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        stop_wait.cancel()
        if not login.done():
            login.cancel()
            await asyncio.gather(login, return_exceptions=True)
            return
        login.result()  # a login error or DiscordUnreachable is raised here
        if stopping.is_set():
            return
        watchdog = asyncio.ensure_future(_watch_first_connection(bot, window))
        try:
            await bot.connect(reconnect=True)
        finally:
            gave_up = watchdog.result() if watchdog.done() and not watchdog.cancelled() else None
            watchdog.cancel()
        if gave_up is not None:
            raise gave_up


def _stop(bot: NewsBot, sig: signal.Signals, stopping: asyncio.Event) -> None:
    log.info("received %s: closing the connection", sig.name)
    stopping.set()
    asyncio.ensure_future(bot.close())


def run_bot(settings: Settings) -> int:
    """Connect to Discord and serve until stopped; return the process exit code."""
    from bot.discord_app import create_bot

    if settings.discord.token is None or not settings.discord.token.get_secret_value().strip():
        log.error(NO_TOKEN)
        return 1
    try:
        window = StartupSettings().startup_retry_seconds
    except ValueError as error:  # pydantic's ValidationError
        log.error("Invalid DISCORD_STARTUP_RETRY_SECONDS: %s", describe(error))
        return 2
    bot = create_bot(settings)
    try:
        asyncio.run(serve(bot, settings.discord.token.get_secret_value().strip(), window))
    except (discord.LoginFailure, discord.PrivilegedIntentsRequired, BotError) as error:
        log.error(startup_error(error))
        return 1
    except DiscordUnreachable as error:
        log.error("%s", error)
        return UNREACHABLE_EXIT
    finally:
        if bot.health is not None:
            bot.health.clear()
    log.info("bot stopped")
    return 0
