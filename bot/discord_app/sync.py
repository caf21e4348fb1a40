"""Registering the slash commands with Discord only when they changed.

Discord rate-limits command registration (a few hundred a day), so syncing on every start is
wasteful and can lock a restarting bot out. A hash of the exact payload Discord would receive is
kept in a small JSON file, keyed by application and scope (dev guild or global); the tree is
synced only when the hash differs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import discord
from discord import app_commands

log = logging.getLogger(__name__)

STATE_FILE = "discord_commands.json"


def scope_key(application_id: int | None, guild_id: int | None) -> str:
    """The state file key for one application's commands in one scope."""
    return f"{application_id}:{'guild:%d' % guild_id if guild_id else 'global'}"


def tree_hash(tree: app_commands.CommandTree, guild: discord.abc.Snowflake | None) -> str:
    """SHA-256 of the commands payload `tree.sync(guild=guild)` would send."""
    payload = sorted((c.to_dict(tree) for c in tree.get_commands(guild=guild)), key=lambda c: c["name"])
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)  # atomic: a crash leaves the old state, which only means one extra sync


async def sync_if_changed(
    client: discord.Client, tree: app_commands.CommandTree, state: Path, guild_id: int | None
) -> bool:
    """Sync the tree (to `guild_id` if given, else globally) unless it is unchanged; True if synced."""
    guild = discord.Object(id=guild_id) if guild_id else None
    if guild is not None:
        # A dev guild sees changes at once; global commands take up to an hour to propagate.
        tree.copy_global_to(guild=guild)
    key = scope_key(client.application_id, guild_id)
    digest = tree_hash(tree, guild)
    recorded = _read(state)
    if recorded.get(key) == digest:
        log.info("slash commands unchanged since the last sync (%s); not syncing", key)
        return False
    synced = await tree.sync(guild=guild)
    log.info("synced %d slash commands (%s)", len(synced), key)
    recorded[key] = digest
    try:
        _write(state, recorded)
    except OSError:
        log.warning("could not record the command sync in %s; the next start will sync again", state)
    return True
