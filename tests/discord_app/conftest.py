"""Fixtures for the Discord layer: one real Pipeline per session, a fresh bot and simulated Discord per test.

The corpus is a copy of the test articles (tests/fixtures/corpus, `copy_corpus` from
tests/conftest.py). The model (the session `embedder`) loads once and the
index builds once per session; tests that change the corpus or the index get their own copy of
both (`private_pipeline`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import discord
import pytest
from pydantic import SecretStr

from bot.config import DiscordSettings, IngestSettings, RetrievalSettings, Settings
from bot.core.pipeline import Pipeline
from bot.discord_app import create_bot

from .helpers import FAKE_TOKEN


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "discord(**fields): DiscordSettings fields for the test's bot")
    config.addinivalue_line("markers", "ingest(**fields): IngestSettings fields for the test's bot")


@pytest.fixture(scope="session")
def shared_pipeline(tmp_path_factory: pytest.TempPathFactory, copy_corpus, embedder) -> Pipeline:
    """A warmed-up pipeline over a copy of the test corpus, shared by every test that does not change it."""
    root = tmp_path_factory.mktemp("discord-shared")
    copy_corpus(root / "corpus")
    retrieval = RetrievalSettings(
        _env_file=None,
        corpus_dir=root / "corpus",
        index_dir=root / "index",
        feedback_file=root / "feedback.jsonl",
    )
    pipeline = Pipeline(retrieval, embedder=embedder)
    pipeline.warm_up()
    return pipeline


@pytest.fixture
def private_pipeline(shared_pipeline: Pipeline, tmp_path: Path) -> Pipeline:
    """A pipeline with its own copy of the corpus and index (cheap: the loaded model is shared)."""
    src = shared_pipeline.settings
    shutil.copytree(src.corpus_dir, tmp_path / "corpus")
    shutil.copytree(src.index_dir, tmp_path / "index")
    retrieval = src.model_copy(update={"corpus_dir": tmp_path / "corpus", "index_dir": tmp_path / "index"})
    pipeline = Pipeline(retrieval, embedder=shared_pipeline.embedder)
    pipeline.warm_up()
    return pipeline


@pytest.fixture
def pipeline(shared_pipeline: Pipeline) -> Pipeline:
    """The pipeline the test's bot uses; modules that change the index override it with private_pipeline."""
    return shared_pipeline


@pytest.fixture
def settings(
    pipeline: Pipeline, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings for one test: the pipeline's retrieval settings, a feedback file of its own, a fake token.

    Overrides the `settings` factory of tests/conftest.py: here a test needs a whole
    Settings object. DISCORD_* and NEWSBOT_* variables a developer may have set are ignored.
    """
    for name in list(os.environ):
        if name.startswith(("NEWSBOT_", "DISCORD_")):
            monkeypatch.delenv(name, raising=False)
    discord_fields = {"token": SecretStr(FAKE_TOKEN)}
    if marker := request.node.get_closest_marker("discord"):
        discord_fields.update(marker.kwargs)
    ingest_fields = {}
    if marker := request.node.get_closest_marker("ingest"):
        ingest_fields.update(marker.kwargs)
    return Settings(
        _env_file=None,
        retrieval=pipeline.settings.model_copy(
            update={"feedback_file": tmp_path / "feedback" / "votes.jsonl"}
        ),
        ingest=IngestSettings(_env_file=None, **ingest_fields),
        discord=DiscordSettings(_env_file=None, **discord_fields),
    )


@pytest.fixture
def command_state(tmp_path: Path) -> Path:
    """Where the bot records its last command sync (one per test: every simulated Discord starts empty)."""
    return tmp_path / "commands.json"


@pytest.fixture
def simcord_bot(settings: Settings, pipeline: Pipeline, command_state: Path) -> discord.Client:
    """The project's own bot, built by its own factory."""
    return create_bot(settings, pipeline, command_state=command_state)


@pytest.fixture
def guild(simcord_env):
    return simcord_env.create_guild("Newsroom")


@pytest.fixture
def channel(guild):
    return guild.create_text_channel("general")


@pytest.fixture
def alice(simcord_env, guild):
    """A member without special permissions."""
    return guild.add_member(simcord_env.create_user("alice"))


@pytest.fixture
def admin(simcord_env, guild):
    """A member whose role has Manage Server."""
    role = guild.create_role("Editors", permissions=discord.Permissions(manage_guild=True))
    return guild.add_member(simcord_env.create_user("editor"), roles=[role])
