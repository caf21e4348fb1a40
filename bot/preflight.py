"""Checks before a long-running start: the folders the bot writes to are writable, with a clear message.

In a container these fail in ways whose real cause is hidden later: a root-owned volume on the index
folder gives a PermissionError traceback, `--read-only` without a tmpfs makes the model load fail.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bot.errors import BotError


class NotWritable(BotError):
    """A folder the bot must write to is not writable."""


def _uid() -> str:
    return str(os.getuid()) if hasattr(os, "getuid") else "this user"


def check_writable(folder: Path, what: str) -> None:
    """Raise NotWritable with a one-line fix if `folder` cannot be created or written to."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as error:
        raise NotWritable(
            f"The {what} {folder} is not writable by uid {_uid()} ({error.strerror or error}): "
            f"chown it to that uid or mount a writable volume there."
        ) from None


def check_temp_dir() -> None:
    """Raise NotWritable if there is no writable temporary folder (e.g. `docker run --read-only`)."""
    try:
        with tempfile.TemporaryFile():
            pass
    except OSError:
        raise NotWritable(
            f"No writable temporary folder ({os.environ.get('TMPDIR', '/tmp')}): with --read-only, add "
            f"--tmpfs /tmp (or set TMPDIR to a writable folder)."
        ) from None


def check_run(index_dir: Path, health_file: Path | None) -> None:
    """All checks for `python -m bot run`."""
    check_temp_dir()
    check_writable(index_dir, "index folder")
    if health_file is not None:
        check_writable(health_file.parent, "health file's folder")
