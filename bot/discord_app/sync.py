"""Registering the slash commands with Discord only when they changed.

Discord rate-limits command registration (a few hundred a day), so syncing on every start is
wasteful and can lock a restarting bot out. A hash of the exact payload Discord would receive is
kept in a small JSON file, keyed by application and scope (dev guild or global). The local file
is not trusted alone: what Discord has registered is fetched (one GET) and compared with the local
tree, since another deployment may have synced, or commands been deleted in the portal. The tree is
synced when either differs; if the fetch fails, the hash alone decides (one log line, no crash).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

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


OPTION_FIELDS = (
    "name", "description", "type", "required", "autocomplete", "choices",
    "min_value", "max_value", "min_length", "max_length", "channel_types",
)


def _option(raw: dict[str, Any]) -> dict[str, Any]:
    # Discord omits defaults (required false, empty lists) that discord.py may send: drop them both sides.
    out = {k: raw[k] for k in OPTION_FIELDS if raw.get(k) not in (None, False, [], "")}
    if "choices" in out:
        out["choices"] = [{"name": c.get("name"), "value": c.get("value")} for c in out["choices"]]
    if raw.get("options"):
        out["options"] = [_option(o) for o in raw["options"]]
    return out


def comparable(commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Names, types, descriptions, options and permissions of command payloads, in a stable order."""
    out = []
    for raw in commands:
        perms = raw.get("default_member_permissions")
        out.append(
            {
                "name": raw.get("name"),
                "type": int(raw.get("type") or 1),
                "description": raw.get("description") or "",
                "options": [_option(o) for o in raw.get("options") or []],
                "default_member_permissions": None if perms in (None, "") else str(perms),
            }
        )
    return sorted(out, key=lambda c: (c["type"], c["name"]))


async def discord_differs(
    tree: app_commands.CommandTree, guild: discord.abc.Snowflake | None
) -> bool | None:
    """Whether Discord's registered commands differ from the local tree; None if they could not be fetched."""
    try:
        remote = await tree.fetch_commands(guild=guild)
    except (discord.HTTPException, OSError) as exc:
        log.warning("could not fetch the registered slash commands from Discord (%s)", type(exc).__name__)
        return None
    local = [c.to_dict(tree) for c in tree.get_commands(guild=guild)]
    # AppCommand.to_dict() leaves out the default permissions: taken from the attribute instead.
    fetched = [
        {
            **c.to_dict(),
            "default_member_permissions": c.default_member_permissions and c.default_member_permissions.value,
        }
        for c in remote
    ]
    return comparable(local) != comparable(fetched)


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
    differs = await discord_differs(tree, guild)
    if differs is None:
        differs = recorded.get(key) != digest
        log.info("deciding the command sync from the local record alone (%s)", key)
    elif differs:
        log.info("Discord's registered slash commands differ from this bot's (%s): syncing", key)
    if not differs and recorded.get(key) == digest:
        log.info("slash commands unchanged (%s); not syncing", key)
        return False
    synced = await tree.sync(guild=guild)
    log.info("synced %d slash commands (%s)", len(synced), key)
    recorded[key] = digest
    try:
        _write(state, recorded)
    except OSError:
        log.warning("could not record the command sync in %s; the next start will sync again", state)
    return True
