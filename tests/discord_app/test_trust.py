"""Who may change the corpus: DISCORD_ADMIN_GUILD_IDS, else the application's owner and team.

The application info the bot asks Discord for is simcord's own route; the fixture `app_info`
only changes who it names as owner and team, as the Developer Portal would.
"""

from __future__ import annotations

from pathlib import Path

import discord
import pytest
from simcord.backend import serializers
from simcord.http import router
from simcord.http.routes import application

from bot.core.audit import audit_path, entries
from bot.discord_app.trust import REFUSAL, NotTrusted

from .helpers import deferred

LISTED = 424242424242424242
ARTICLE = """---
title: "Qualcomm launches the AI200 accelerator"
lang: en
---

Qualcomm announced the AI200 accelerator; each card supports 768 gigabytes of LPDDR memory.
"""


@pytest.fixture
def pipeline(private_pipeline):
    """These tests may change the corpus and the index: they get their own copy."""
    return private_pipeline


@pytest.fixture
def app_info(simcord_env):
    """Name users as the application's owner and team members in GET /oauth2/applications/@me."""
    routes = router._ROUTES["GET"]
    [index] = [i for i, (_, func) in enumerate(routes) if func is application.application_info]
    original = routes[index]
    who: dict[str, list] = {"owner": [], "team": []}

    def with_owner(ctx):
        payload = application.application_info(ctx)
        backend = ctx.backend
        if who["owner"]:
            payload["owner"] = dict(serializers.user_payload(backend.get_user(who["owner"][0].id)))
        if who["team"]:
            payload["team"] = {
                "id": "99",
                "name": "Operators",
                "icon": None,
                "owner_user_id": payload["owner"]["id"],
                "members": [
                    {
                        "membership_state": 2,
                        "permissions": ["*"],
                        "team_id": "99",
                        "role": "admin",
                        "user": dict(serializers.user_payload(backend.get_user(u.id))),
                    }
                    for u in who["team"]
                ],
            }
        return payload

    routes[index] = (original[0], with_owner)
    yield who
    routes[index] = original


def snapshot(pipeline) -> tuple[dict[str, bytes], str, list[dict]]:
    """Every corpus file's bytes and the live generation: what a refused command must not change."""
    corpus: Path = pipeline.settings.corpus_dir
    files = {str(p.relative_to(corpus)): p.read_bytes() for p in sorted(corpus.rglob("*")) if p.is_file()}
    return files, pipeline.generation.name, entries(audit_path(corpus))


async def allow(simcord_env, guild, name: str, member) -> None:
    """Server Settings > Integrations: let a member without Manage Server see the command."""
    [command] = [c for c in await simcord_env.bot.tree.fetch_commands() if c.name == name]
    guild.set_command_permissions(command, {member: True})


def manage_server_member(env, guild, name: str):
    role = guild.create_role(f"{name}-admins", permissions=discord.Permissions(manage_guild=True))
    return guild.add_member(env.create_user(name), roles=[role])


@pytest.mark.discord(admin_guild_ids=[LISTED])
async def test_manage_server_of_an_unlisted_server_is_refused(simcord_env, channel, admin, pipeline):
    before = snapshot(pipeline)

    ingest = await admin.slash(channel, "ingest", file=("qualcomm.md", ARTICLE.encode()))
    reindex = await admin.slash(channel, "reindex")
    remove = await admin.slash(channel, "remove", article="openai-amd.md")

    for result in (ingest, reindex, remove):
        assert result.ephemeral and result.response.content == REFUSAL
    assert not deferred(simcord_env)
    assert snapshot(pipeline) == before
    assert [type(e) for e in simcord_env.errors] == [NotTrusted, NotTrusted, NotTrusted]


@pytest.mark.discord(admin_guild_ids=[LISTED])
async def test_manage_server_of_a_listed_server_may_ingest(simcord_env, admin, pipeline):
    listed = simcord_env.create_guild("Operators", id=LISTED)
    editor = manage_server_member(simcord_env, listed, "operator")
    channel = listed.create_text_channel("ops")

    result = await editor.slash(channel, "ingest", file=("qualcomm.md", ARTICLE.encode()))

    assert result.response.content.startswith("Added “Qualcomm launches the AI200 accelerator”")
    assert any(a.title.startswith("Qualcomm launches") for a in pipeline.articles())
    [entry] = entries(audit_path(pipeline.settings.corpus_dir))
    assert (entry["action"], entry["source"]) == ("added", "qualcomm.md")
    assert (entry["user_id"], entry["user_name"], entry["guild_id"]) == (editor.id, "operator", LISTED)
    stored = (pipeline.settings.corpus_dir / entry["article_id"]).read_text(encoding="utf-8")
    assert f"added_by: operator ({editor.id})" in stored


@pytest.mark.discord(admin_guild_ids=[LISTED])
async def test_a_plain_member_of_a_listed_server_is_refused(simcord_env, pipeline):
    listed = simcord_env.create_guild("Operators", id=LISTED)
    channel = listed.create_text_channel("ops")
    member = listed.add_member(simcord_env.create_user("reader"))
    await allow(simcord_env, listed, "reindex", member)
    before = snapshot(pipeline)

    result = await member.slash(channel, "reindex")

    assert result.response.content == (
        "You need the Manage Server permission to use this command; nothing was done."
    )
    assert snapshot(pipeline) == before
    [error] = simcord_env.errors
    assert type(error).__name__ == "MissingPermissions"


async def test_with_no_list_manage_server_is_not_enough(simcord_env, channel, admin, pipeline, app_info):
    app_info["owner"].append(simcord_env.create_user("operator"))
    before = snapshot(pipeline)

    result = await admin.slash(channel, "ingest", file=("qualcomm.md", ARTICLE.encode()))

    assert result.ephemeral and result.response.content == REFUSAL
    assert snapshot(pipeline) == before
    assert [type(e) for e in simcord_env.errors] == [NotTrusted]


async def test_with_no_list_the_application_owner_may_ingest_anywhere(
    simcord_env, guild, channel, pipeline, app_info
):
    # The owner is a plain member here: ownership, not Manage Server, is what lets them.
    owner = guild.add_member(simcord_env.create_user("operator"))
    app_info["owner"].append(owner)
    await allow(simcord_env, guild, "ingest", owner)

    result = await owner.slash(channel, "ingest", file=("qualcomm.md", ARTICLE.encode()))

    assert result.response.content.startswith("Added “Qualcomm launches the AI200 accelerator”")


async def test_with_no_list_a_team_member_may_reindex(simcord_env, guild, channel, pipeline, app_info):
    app_info["owner"].append(simcord_env.create_user("founder"))
    member = manage_server_member(simcord_env, guild, "teammate")
    app_info["team"].append(member)
    (pipeline.settings.corpus_dir / "qualcomm.md").write_text(ARTICLE, encoding="utf-8")

    result = await member.slash(channel, "reindex")

    assert result.response.content.startswith("Index updated: 1 added")


async def test_a_plain_member_is_refused_remove_and_nothing_changes(simcord_env, guild, channel, alice, pipeline):
    # Even with the command made visible to them, a member without the trust check gets nothing done.
    guild_ids = simcord_env.bot.settings.discord.admin_guild_ids
    guild_ids.append(guild.id)
    await allow(simcord_env, guild, "remove", alice)
    before = snapshot(pipeline)

    result = await alice.slash(channel, "remove", article="openai-amd.md")

    assert result.ephemeral
    assert result.response.content == "You need the Manage Server permission to use this command; nothing was done."
    assert snapshot(pipeline) == before
    assert not (pipeline.settings.corpus_dir / ".removed").exists()
    assert [type(e).__name__ for e in simcord_env.errors] == ["MissingPermissions"]


async def test_the_owner_cache_is_asked_again_after_it_expires(
    simcord_env, guild, channel, pipeline, app_info, monkeypatch
):
    from bot.discord_app import trust

    first = manage_server_member(simcord_env, guild, "first-owner")
    second = manage_server_member(simcord_env, guild, "second-owner")
    app_info["owner"].append(first)
    clock = [1000.0]
    monkeypatch.setattr(trust, "_now", lambda: clock[0])
    (pipeline.settings.corpus_dir / "qualcomm.md").write_text(ARTICLE, encoding="utf-8")

    assert (await first.slash(channel, "reindex")).response.content.startswith("Index updated: 1 added")
    # The application changes hands in the Developer Portal; within the cache time nothing changes.
    app_info["owner"][:] = [second]
    assert (await second.slash(channel, "reindex")).response.content == REFUSAL
    clock[0] += trust.OWNER_CACHE_SECONDS
    assert (await second.slash(channel, "reindex")).response.content.startswith("The index is already up to date")
    assert (await first.slash(channel, "reindex")).response.content == REFUSAL
    assert [type(e) for e in simcord_env.errors] == [NotTrusted, NotTrusted]
