"""The README's settings table lists every setting in bot/config.py with the default the code has."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import DiscordSettings, IngestSettings, RetrievalSettings

README = Path(__file__).resolve().parents[1] / "README.md"
GROUPS = (RetrievalSettings, IngestSettings, DiscordSettings)


def readme_settings() -> dict[str, str]:
    """Variable -> default cell, from the table headed `| variable | default | meaning |`."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| variable | default |"))
    out: dict[str, str] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        names_cell, default_cell = (c.strip() for c in line.strip("|").split("|")[:2])
        names = re.findall(r"`([A-Z_]+)`|(?<=/ )`?(_[A-Z_]+)`?", names_cell)
        defaults = [d.strip().strip("`") for d in default_cell.split(" / ")]
        first = None
        for i, (full, tail) in enumerate(names):
            name = full or tail
            if first is None:
                first = name
            elif name.startswith("_"):
                # `NEWSBOT_INGEST_MAX_BYTES` / `_TIMEOUT_SECONDS`: the tail shares the first's prefix.
                name = "NEWSBOT_INGEST" + name if first.startswith("NEWSBOT_INGEST_") else name
            out[name] = defaults[i] if len(defaults) == len(names) else defaults[0]
    return out


def code_settings() -> dict[str, object]:
    """Environment variable -> default, for every field of the settings groups."""
    out: dict[str, object] = {}
    for group in GROUPS:
        prefix = group.model_config.get("env_prefix", "")
        for name, field in group.model_fields.items():
            default = field.default_factory() if field.default_factory else field.default
            out[(prefix + name).upper()] = default
    return out


def same(cell: str, value: object) -> bool:
    """Whether a README default cell states `value` (cells like "per model" or "5 MB" are not compared)."""
    if value is None:
        return cell in ("none", "per model")
    if isinstance(value, bool):
        return cell == str(value).lower()
    if isinstance(value, int | float) and re.fullmatch(r"[0-9.]+", cell):
        return float(cell) == float(value)
    if isinstance(value, list):
        return cell == "[]" if not value else True
    if re.fullmatch(r"[0-9.]+ MB", cell):
        return float(cell.split()[0]) * 1_000_000 == value
    return cell == str(value) or str(value).endswith(cell)


def test_every_setting_is_in_the_readme_with_its_default():
    table = readme_settings()
    missing = sorted(set(code_settings()) - set(table))
    assert not missing, f"settings missing from the README table: {missing}"
    wrong = {k: (table[k], v) for k, v in code_settings().items() if not same(table[k], v)}
    assert not wrong, f"README default differs from the code (README, code): {wrong}"
