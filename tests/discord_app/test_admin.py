"""/reindex and /ingest: Manage Server only, checked when the command runs; one build at a time."""

from __future__ import annotations

import http.server
import threading

import discord
import pytest
from discord import app_commands
from simcord import SetupError

from bot.errors import BotError, BuildInProgress, IngestError, UnsafeURL

from .helpers import deferred

NEW_ARTICLE = """---
title: "Qualcomm launches the AI200 accelerator"
lang: en
date: 2025-10-27
---

Qualcomm announced two data center accelerators, the AI200 and the AI250, aimed at running large models.
Each AI200 card supports 768 gigabytes of LPDDR memory, far more than competing parts, and the first
customer is the Saudi company Humain, which plans to deploy 200 megawatts of Qualcomm racks from 2026.
"""


@pytest.fixture
def pipeline(private_pipeline):
    """These tests change the corpus and the index: they get their own copy."""
    return private_pipeline


@pytest.fixture(autouse=True)
def operators_server(settings, guild):
    """The test's server is the operator's (DISCORD_ADMIN_GUILD_IDS): its Manage Server members are trusted."""
    settings.discord.admin_guild_ids.append(guild.id)


@pytest.fixture
def builds(pipeline, monkeypatch):
    """Counts calls to the real update_index."""
    calls = []
    real = pipeline.update_index

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "update_index", spy)
    return calls


async def allow_command(simcord_env, guild, name: str, member) -> None:
    """What a server admin can do in Server Settings > Integrations: let a member see the command."""
    [command] = [c for c in await simcord_env.bot.tree.fetch_commands() if c.name == name]
    guild.set_command_permissions(command, {member: True})


async def test_admin_commands_are_hidden_from_members(simcord_env, channel, alice):
    assert "reindex" not in alice.available_commands(channel)
    assert "ask" in alice.available_commands(channel)
    with pytest.raises(SetupError, match="not visible"):
        await alice.slash(channel, "reindex")


async def test_reindex_by_a_member_is_refused_when_it_runs(
    simcord_env, guild, channel, alice, pipeline, builds
):
    (pipeline.settings.corpus_dir / "qualcomm.md").write_text(NEW_ARTICLE, encoding="utf-8")
    before = pipeline.generation.name
    await allow_command(simcord_env, guild, "reindex", alice)  # visible, but still not allowed

    result = await alice.slash(channel, "reindex")

    assert result.ephemeral
    assert (
        result.response.content
        == "You need the Manage Server permission to use this command; nothing was done."
    )
    assert builds == [] and pipeline.generation.name == before
    assert not deferred(simcord_env)
    [error] = simcord_env.errors
    assert isinstance(error, app_commands.MissingPermissions)


async def test_reindex_by_an_admin_reports_the_new_article(simcord_env, channel, admin, alice, pipeline):
    (pipeline.settings.corpus_dir / "qualcomm.md").write_text(NEW_ARTICLE, encoding="utf-8")
    before = pipeline.generation.name

    result = await admin.slash(channel, "reindex")

    assert deferred(simcord_env) and result.ephemeral
    text = result.response.content
    assert text.startswith("Index updated: 1 added, 0 changed, 0 removed (")
    assert "Added: `qualcomm.md`" in text
    assert pipeline.generation.name != before and f"`{pipeline.generation.name}`" in text
    answer = await alice.slash(
        channel, "ask", question="How much memory does each Qualcomm AI200 card support?"
    )
    assert "768 gigabytes" in answer.response.embeds[0].description


async def test_reindex_with_nothing_new_says_so(simcord_env, channel, admin, pipeline):
    result = await admin.slash(channel, "reindex")
    assert (
        result.response.content == f"The index is already up to date ({pipeline.about().passages} passages)."
    )


@pytest.mark.simcord(settle_timeout=1.5)
async def test_a_second_reindex_while_one_runs_is_told_so(
    simcord_env, channel, admin, pipeline, builds, monkeypatch
):
    (pipeline.settings.corpus_dir / "qualcomm.md").write_text(NEW_ARTICLE, encoding="utf-8")
    started, release = threading.Event(), threading.Event()
    spy = pipeline.update_index

    def blocked(*args):
        started.set()
        assert release.wait(10), "the test never released the first build"
        return spy(*args)

    monkeypatch.setattr(pipeline, "update_index", blocked)

    # The first build is released as soon as the second /reindex has answered: deterministic.
    async def on_completion(interaction, command):
        release.set()

    simcord_env.bot.add_listener(on_completion, "on_app_command_completion")

    # simcord waits for the bot's work to finish; a build blocked in a worker thread cannot, so
    # the first command "times out" from the test's point of view while the bot keeps running it.
    with pytest.raises(TimeoutError):
        await admin.slash(channel, "reindex")
    assert started.is_set()

    second = await admin.slash(channel, "reindex")

    assert second.ephemeral
    assert second.response.content == "An index build is already running; try again when it has finished."
    assert len(builds) == 1  # only the first one built
    first = [m for m in channel.history(viewer=admin) if m.content.startswith("Index updated")]
    assert len(first) == 1 and "Added: `qualcomm.md`" in first[0].content


async def test_a_build_started_elsewhere_is_reported(simcord_env, channel, admin, pipeline):
    from filelock import FileLock

    from bot.core.index.store import IndexStore

    with FileLock(str(IndexStore(pipeline.settings.index_dir).lock_path)):  # e.g. `python -m bot index`
        result = await admin.slash(channel, "reindex")

    assert result.response.content == "An index build is already running; try again when it has finished."
    assert [type(e.original) for e in simcord_env.errors] == [BuildInProgress]


async def test_ingest_a_file_as_admin(simcord_env, channel, admin, alice, pipeline):
    result = await admin.slash(channel, "ingest", file=("qualcomm-ai200.md", NEW_ARTICLE.encode()))

    assert result.ephemeral
    text = result.response.content
    assert text.startswith("Added “Qualcomm launches the AI200 accelerator” (`")
    info = [a for a in pipeline.articles() if a.title.startswith("Qualcomm")]
    assert len(info) == 1
    assert f"(`{info[0].id}`): {info[0].passages} passages." in text
    assert f"The index switched to generation `{pipeline.generation.name}`; questions now use it." in text
    assert (pipeline.settings.corpus_dir / info[0].id).is_file()

    again = await admin.slash(channel, "ingest", file=("copy.md", NEW_ARTICLE.encode()))
    assert (
        again.response.content == f"This article is already in the corpus as `{info[0].id}`; nothing changed."
    )


async def test_ingest_by_a_member_is_refused(simcord_env, guild, channel, alice, pipeline):
    files = sorted(p.name for p in pipeline.settings.corpus_dir.iterdir())
    await allow_command(simcord_env, guild, "ingest", alice)

    result = await alice.slash(channel, "ingest", file=("qualcomm.md", NEW_ARTICLE.encode()))

    assert (
        result.response.content
        == "You need the Manage Server permission to use this command; nothing was done."
    )
    assert sorted(p.name for p in pipeline.settings.corpus_dir.iterdir()) == files
    assert [type(e) for e in simcord_env.errors] == [app_commands.MissingPermissions]


@pytest.mark.ingest(max_bytes=100)
async def test_ingest_refuses_a_big_file_before_downloading_it(
    simcord_env, channel, admin, pipeline, monkeypatch
):
    downloads = []
    real_read = discord.Attachment.read

    async def counting_read(self, **kwargs):
        downloads.append(self.filename)
        return await real_read(self, **kwargs)

    monkeypatch.setattr(discord.Attachment, "read", counting_read)
    result = await admin.slash(channel, "ingest", file=("big.md", NEW_ARTICLE.encode()))

    assert (
        result.response.content
        == f"Cannot add big.md: it is {len(NEW_ARTICLE.encode()):,} bytes and the limit is 100 bytes."
    )
    assert downloads == [] and not deferred(simcord_env)
    assert isinstance(simcord_env.errors[0].original, IngestError)


async def test_ingest_needs_exactly_one_source(simcord_env, channel, admin):
    neither = await admin.slash(channel, "ingest")
    both = await admin.slash(channel, "ingest", file=("a.md", b"x"), url="https://example.com/")
    for result in (neither, both):
        assert result.response.content == "Give either a file or a url (one of the two)."
    assert [type(e.original) for e in simcord_env.errors] == [BotError, BotError]


@pytest.fixture
def web_page():
    """A local web server with one article page (allowed through NEWSBOT_INGEST_ALLOW_HOSTS)."""
    page = (
        "<html><head><title>Qualcomm launches the AI200 accelerator</title></head><body><article>"
        + "".join(f"<p>{line}</p>" for line in NEW_ARTICLE.split("---")[2].strip().split("\n"))
        + "</article></body></html>"
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/ai200.html"
    server.shutdown()


@pytest.mark.ingest(allow_hosts=["127.0.0.1"])
async def test_ingest_a_web_page(simcord_env, channel, admin, pipeline, web_page):
    result = await admin.slash(channel, "ingest", url=web_page)

    assert result.response.content.startswith("Added “Qualcomm launches the AI200 accelerator”")
    assert any(a.title.startswith("Qualcomm") for a in pipeline.articles())


async def test_ingest_refuses_a_private_address(simcord_env, channel, admin):
    result = await admin.slash(channel, "ingest", url="http://127.0.0.1:9/admin")

    assert result.ephemeral
    assert "127.0.0.1" in result.response.content
    assert isinstance(simcord_env.errors[0].original, UnsafeURL)


async def test_reindex_on_a_full_disk_says_so_and_the_bot_keeps_answering(
    simcord_env, channel, admin, alice, pipeline, monkeypatch
):
    import errno

    from bot.core.index import store as store_module

    (pipeline.settings.corpus_dir / "qualcomm.md").write_text(NEW_ARTICLE, encoding="utf-8")
    before = pipeline.generation.name

    def full(path, *args, **kwargs):
        path.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module, "_write_sqlite", full)
    result = await admin.slash(channel, "reindex")

    assert result.ephemeral
    text = result.response.content
    assert text.startswith("No space left on the disk") and "\n" not in text.strip(), text
    assert pipeline.generation.name == before
    from bot.errors import DiskFull

    assert [type(e.original) for e in simcord_env.errors] == [DiskFull]
    answer = await alice.slash(channel, "ask", question="Sur combien d'actions porte l'option d'achat d'OpenAI ?")
    assert "160 millions" in answer.response.embeds[0].description


# -- /remove and the change log (issue 11) ---------------------------------------------------------


async def test_remove_by_an_admin_takes_the_article_out_of_answers(
    simcord_env, channel, admin, alice, pipeline, builds
):
    from bot.core.audit import audit_path, entries

    from .helpers import cited_articles

    question = "What is AMD's Helios?"
    first = await alice.slash(channel, "ask", question=question)
    assert "amd-helios-rack.md" in cited_articles(first.response.embeds[0])
    choices = await admin.autocomplete(channel, "remove", "article", "helios")
    assert [c["value"] for c in choices] == ["amd-helios-rack.md"]

    result = await admin.slash(channel, "remove", article="amd-helios-rack.md")

    assert deferred(simcord_env) and result.ephemeral
    assert result.response.content.startswith("Removed `amd-helios-rack.md`: the index switched to generation")
    assert len(builds) == 1  # one update for the removal
    assert "amd-helios-rack.md" not in {a.id for a in pipeline.articles()}
    assert (pipeline.settings.corpus_dir / ".removed" / "amd-helios-rack.md").is_file()
    after = await alice.slash(channel, "ask", question=question)
    assert "amd-helios-rack.md" not in cited_articles(after.response.embeds[0])
    [entry] = entries(audit_path(pipeline.settings.corpus_dir))
    assert (entry["action"], entry["article_id"], entry["user_id"]) == ("removed", "amd-helios-rack.md", admin.id)


async def test_remove_of_an_unknown_article_changes_nothing(simcord_env, channel, admin, pipeline, builds):
    from bot.core.audit import audit_path

    before = pipeline.generation.name
    result = await admin.slash(channel, "remove", article="no-such-article.md")

    assert result.ephemeral
    assert "No article has the id no-such-article.md" in result.response.content
    assert builds == [] and pipeline.generation.name == before
    assert not audit_path(pipeline.settings.corpus_dir).exists()
    assert [type(e.original) for e in simcord_env.errors] == [IngestError]


async def test_reindex_writes_a_change_log_entry(simcord_env, channel, admin, pipeline):
    from bot.core.audit import audit_path, entries

    await admin.slash(channel, "reindex")

    [entry] = entries(audit_path(pipeline.settings.corpus_dir))
    assert (entry["action"], entry["article_id"]) == ("reindexed", None)
    assert (entry["user_id"], entry["source"]) == (admin.id, f"generation {pipeline.generation.name}")
