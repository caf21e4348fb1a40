"""The bundled model folder is readable by other users (built as root in the image, read by the bot's uid)."""

from __future__ import annotations

import stat
import tempfile
from pathlib import Path

from bot.core.index.bundled_e5 import make_readable


def test_make_readable_gives_folders_0755_and_files_0644(tmp_path):
    work = Path(tempfile.mkdtemp(dir=tmp_path)) / "model"  # as the build does: under a 0700 mkdtemp
    (work / "pooling").mkdir(parents=True)
    (work / "model.safetensors").write_bytes(b"x")
    (work / "pooling" / "config.json").write_text("{}")
    (work / "model.safetensors").chmod(0o600)
    work.chmod(0o700)

    make_readable(work)

    modes = {p.relative_to(work).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in [work, *work.rglob("*")]}
    assert modes == {".": 0o755, "pooling": 0o755, "model.safetensors": 0o644, "pooling/config.json": 0o644}
