"""The append-only log of changes to the corpus: who, when, what (one JSON object a line)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

# "reindexed" has no article: the index was rebuilt from the corpus (source names the generation).
Action = Literal["added", "updated", "removed", "restored", "reindexed"]


def audit_path(corpus_dir: Path) -> Path:
    """Where the log lives: beside the corpus folder, never inside it (it must not be indexed)."""
    return corpus_dir.resolve().parent / "corpus-audit.jsonl"


def record(
    path: Path,
    action: Action,
    article_id: str | None,
    source: str | None,
    user_id: int | None = None,
    user_name: str | None = None,
    guild_id: int | None = None,
) -> dict:
    """Append one change to the log and return the entry written."""
    entry = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "action": action,
        "article_id": article_id,
        "source": source,
        "user_id": user_id,
        "user_name": user_name,
        "guild_id": guild_id,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write of one line in append mode: concurrent writers (bot and CLI) never interleave lines.
    line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return entry


def entries(path: Path) -> list[dict]:
    """Every entry of the log, oldest first; a missing log is empty, a torn last line is skipped."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out
