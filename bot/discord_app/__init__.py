"""Discord glue: `create_bot()` builds the bot, `run_bot()` connects it. Nothing else imports discord.

Imports happen inside the functions so that `python -m bot.discord_app.health`, run often by a
container health check, does not load discord.py or the retrieval pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.core.pipeline import Pipeline
    from bot.discord_app.bot import NewsBot


def create_bot(
    settings: Settings, pipeline: Pipeline | None = None, *, command_state: Path | None = None
) -> NewsBot:
    """Build the bot (no token needed); the pipeline is made from the settings unless given.

    `command_state` is the file remembering which commands were last synced (default: in the index folder).
    """
    from bot.discord_app.bot import NewsBot

    if pipeline is None:
        from bot.core.pipeline import Pipeline

        pipeline = Pipeline(settings.retrieval)
    return NewsBot(settings, pipeline, command_state=command_state)


def run_bot(settings: Settings) -> int:
    """Connect to Discord with the configured token and serve until stopped; returns an exit code."""
    from bot.discord_app.runner import run_bot as run

    return run(settings)


__all__ = ["create_bot", "run_bot"]
