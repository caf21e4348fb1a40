"""Start-up and shutdown: command sync only when needed, clear start-up errors, the token kept secret."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time

import discord
import pytest
import simcord

from bot.discord_app import create_bot, health, run_bot
from bot.discord_app.bot import NewsBot
from bot.discord_app.runner import BAD_TOKEN, NO_INTENT, NO_TOKEN, UNREACHABLE_EXIT

from .helpers import FAKE_TOKEN

DEV_GUILD = 1456074443980000123


def command_puts(env) -> list[str]:
    return [e.path for e in env.http_requests if e.method == "PUT" and "/commands" in e.path]


async def test_commands_are_synced_only_when_they_changed(
    simcord_env, settings, pipeline, command_state, channel, alice
):
    assert command_puts(simcord_env) == [f"/applications/{simcord_env.bot.application_id}/commands"]
    assert json.loads(command_state.read_text())  # the hash of what was synced

    await simcord_env.restart_bot(create_bot(settings, pipeline, command_state=command_state))
    assert len(command_puts(simcord_env)) == 1  # unchanged: no second sync
    result = await alice.slash(channel, "about")  # the commands registered earlier still work
    assert result.response.embeds

    command_state.write_text(json.dumps({k: "an older tree" for k in json.loads(command_state.read_text())}))
    await simcord_env.restart_bot(create_bot(settings, pipeline, command_state=command_state))
    assert len(command_puts(simcord_env)) == 2


@pytest.mark.discord(dev_guild_id=DEV_GUILD)
async def test_commands_go_to_the_dev_guild_when_configured(simcord_env):
    assert command_puts(simcord_env) == [
        f"/applications/{simcord_env.bot.application_id}/guilds/{DEV_GUILD}/commands"
    ]
    guild = simcord_env.create_guild("Dev", id=DEV_GUILD)
    channel = guild.create_text_channel("tests")
    bob = guild.add_member(simcord_env.create_user("bob"))
    result = await bob.slash(channel, "ask", question="How much HBM4 memory will each MI450 carry?")
    assert "432 gigabytes" in result.response.embeds[0].description


def test_the_token_is_not_in_reprs(settings):
    assert settings.discord.token.get_secret_value() == FAKE_TOKEN
    for text in (repr(settings), str(settings), settings.model_dump_json(), repr(settings.discord)):
        assert FAKE_TOKEN not in text


async def test_the_token_never_reaches_the_logs(simcord_env, channel, alice, caplog):
    caplog.set_level(logging.DEBUG)
    await alice.slash(channel, "ask", question="How much HBM4 memory will each MI450 carry?")
    await alice.send(channel, f"{simcord_env.bot.user.mention} What is AMD's Helios?")
    assert caplog.records
    assert FAKE_TOKEN not in caplog.text


def test_run_bot_without_a_token(settings, caplog):
    settings.discord.token = None
    assert run_bot(settings) == 1
    assert NO_TOKEN in caplog.text


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (discord.LoginFailure("Improper token has been passed."), BAD_TOKEN),
        (discord.PrivilegedIntentsRequired(shard_id=None), NO_INTENT),
    ],
)
def test_run_bot_explains_what_discord_refused(settings, monkeypatch, caplog, error, message):
    async def refused(self, token):
        assert token == FAKE_TOKEN  # unwrapped only for the client
        raise error

    monkeypatch.setattr(NewsBot, "login", refused)
    caplog.set_level(logging.DEBUG)

    assert run_bot(settings) == 1
    assert message in caplog.text
    assert FAKE_TOKEN not in caplog.text


async def test_a_missing_privileged_intent_is_reported_by_discord(settings, pipeline, command_state):
    settings.discord.message_content = True
    bot = create_bot(settings, pipeline, command_state=command_state)
    env = simcord.Env(bot, approved_intents=discord.Intents.default())  # the portal toggle is off
    with pytest.raises(discord.PrivilegedIntentsRequired) as refused:
        await env.start()
    from bot.discord_app.runner import startup_error

    assert startup_error(refused.value) == NO_INTENT
    assert "DISCORD_MESSAGE_CONTENT=false" in NO_INTENT


def test_sigterm_stops_the_bot_cleanly_and_removes_the_health_file(settings, monkeypatch, tmp_path, caplog):
    settings.discord.health_file = tmp_path / "health" / "alive.json"
    seen = {}

    async def logged_in(self, token):
        await self._async_setup_hook()  # what the real login does first; no network here

    async def serving(self, *, reconnect=True):
        self.connected = True
        self._beat()  # what on_ready does once connected
        seen["healthy"] = health.is_fresh(self.health.path)
        os.kill(os.getpid(), signal.SIGTERM)
        while not self.is_closed():
            await asyncio.sleep(0.01)

    monkeypatch.setattr(NewsBot, "login", logged_in)
    monkeypatch.setattr(NewsBot, "connect", serving)
    caplog.set_level(logging.INFO)

    assert run_bot(settings) == 0
    assert seen == {"healthy": True}
    assert not settings.discord.health_file.exists()
    assert "received SIGTERM" in caplog.text


@pytest.mark.discord(health_file=None)
async def test_no_health_file_unless_configured(simcord_env):
    assert simcord_env.bot.health is None


async def test_health_file_written_while_connected(simcord_env, settings, pipeline, command_state, tmp_path):
    settings.discord.health_file = tmp_path / "alive.json"
    await simcord_env.restart_bot(create_bot(settings, pipeline, command_state=command_state))
    bot = simcord_env.bot
    assert bot.health_beat.is_running()
    assert health.is_fresh(settings.discord.health_file)
    assert health.main([str(settings.discord.health_file)]) == 0


def test_health_check_exit_codes(tmp_path, monkeypatch):
    path = tmp_path / "alive.json"
    assert health.main([str(path)]) == 1  # missing
    health.HealthFile(path).beat(0.05)
    assert health.main([str(path)]) == 0
    monkeypatch.setenv("DISCORD_HEALTH_FILE", str(path))
    assert health.main([]) == 0
    path.write_text(json.dumps({"time": time.time() - 1000}))
    assert health.main([str(path)]) == 1  # stale
    assert health.main([str(path), "--max-age", "2000"]) == 0
    path.write_text("not json")
    assert health.main([str(path)]) == 1


def test_no_route_to_discord_retries_then_exits_75_with_one_line(settings, monkeypatch, caplog):
    # A closed local port: the real client's login fails with a connection error, as with no route.
    monkeypatch.setattr(discord.http.Route, "BASE", "http://127.0.0.1:9/api/v10")
    monkeypatch.setenv("DISCORD_STARTUP_RETRY_SECONDS", "2.5")
    caplog.set_level(logging.INFO)
    started = time.monotonic()

    assert run_bot(settings) == UNREACHABLE_EXIT == 75
    assert 2.0 <= time.monotonic() - started < 10  # waited 1 s then 2 s... within the window
    warnings = [r for r in caplog.records if "could not be reached" in r.getMessage()]
    assert len(warnings) == 1  # one line, not one per attempt
    assert "giving up" in caplog.text and "DISCORD_STARTUP_RETRY_SECONDS" in caplog.text
    assert all(r.exc_info is None for r in caplog.records)  # no traceback
    assert FAKE_TOKEN not in caplog.text


def test_sigterm_during_the_login_retries_stops_at_once(settings, monkeypatch, caplog):
    # No route to Discord: SIGTERM (docker stop) must not wait for the end of the retry window.
    monkeypatch.setattr(discord.http.Route, "BASE", "http://127.0.0.1:9/api/v10")
    monkeypatch.setenv("DISCORD_STARTUP_RETRY_SECONDS", "5")
    caplog.set_level(logging.INFO)

    class SignalWhenRetrying(logging.Handler):
        # The first "could not be reached" warning: the bot is now in its backoff, as in the container.
        def emit(self, record: logging.LogRecord) -> None:
            if "could not be reached" in record.getMessage():
                os.kill(os.getpid(), signal.SIGTERM)

    handler = SignalWhenRetrying()
    logging.getLogger("bot.discord_app.runner").addHandler(handler)
    try:
        started = time.monotonic()
        code = run_bot(settings)
        took = time.monotonic() - started
    finally:
        logging.getLogger("bot.discord_app.runner").removeHandler(handler)

    assert code == 0
    assert took < 2
    assert "received SIGTERM" in caplog.text
    assert all(r.exc_info is None for r in caplog.records)


def test_a_bad_retry_window_is_a_clear_error(settings, monkeypatch, caplog):
    monkeypatch.setenv("DISCORD_STARTUP_RETRY_SECONDS", "-1")
    assert run_bot(settings) == 2
    assert "Invalid DISCORD_STARTUP_RETRY_SECONDS" in caplog.text
