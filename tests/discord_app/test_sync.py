"""Issue 13, item 13: commands are re-synced when Discord's registered set differs, whatever the local record says."""

from __future__ import annotations

import json

from bot.discord_app import create_bot


def command_puts(env) -> list[str]:
    return [e.path for e in env.http_requests if e.method == "PUT" and "/commands" in e.path]


async def test_commands_deleted_on_discord_are_synced_again_at_the_next_start(
    simcord_env, settings, pipeline, command_state
):
    recorded = command_state.read_text()
    assert len(command_puts(simcord_env)) == 1
    simcord_env.backend.commands.clear()  # deleted in the developer portal

    await simcord_env.restart_bot(create_bot(settings, pipeline, command_state=command_state))

    assert command_state.read_text() == recorded  # the local hash matched all along
    assert len(command_puts(simcord_env)) == 2
    assert "about" in {c["name"] for c in simcord_env.backend.commands[None].values()}


async def test_another_set_registered_by_another_deployment_is_replaced(
    simcord_env, settings, pipeline, command_state
):
    simcord_env.backend.register_commands(None, [{"name": "old", "description": "An older bot's command"}])

    await simcord_env.restart_bot(create_bot(settings, pipeline, command_state=command_state))

    assert len(command_puts(simcord_env)) == 2
    names = {c["name"] for c in simcord_env.backend.commands[None].values()}
    assert "old" not in names and {"ask", "about", "articles"} <= names


async def test_identical_commands_are_not_synced_again(simcord_env, settings, pipeline, command_state):
    for _ in range(2):
        await simcord_env.restart_bot(create_bot(settings, pipeline, command_state=command_state))

    assert len(command_puts(simcord_env)) == 1
    gets = [e for e in simcord_env.http_requests if e.method == "GET" and e.path.endswith("/commands")]
    assert len(gets) == 3  # one look at what Discord has, per start


async def test_a_failed_fetch_falls_back_to_the_local_record(
    simcord_env, settings, pipeline, command_state, caplog
):
    app = simcord_env.bot.application_id
    simcord_env.inject_error("GET", f"/applications/{app}/commands", status=500)
    await simcord_env.restart_bot(create_bot(settings, pipeline, command_state=command_state))
    assert len(command_puts(simcord_env)) == 1  # record matches: start-up goes on without a sync
    assert "could not fetch the registered slash commands" in caplog.text

    command_state.write_text(json.dumps({k: "older" for k in json.loads(command_state.read_text())}))
    simcord_env.inject_error("GET", f"/applications/{app}/commands", status=500)
    await simcord_env.restart_bot(create_bot(settings, pipeline, command_state=command_state))
    assert len(command_puts(simcord_env)) == 2
