"""A health file for container checks: refreshed while the bot is connected, removed when it stops.

Check it with `python -m bot.discord_app.health [PATH] [--max-age SECONDS]`: exit 0 when the file
was refreshed recently, 1 otherwise (missing, stale, unreadable). PATH defaults to
$DISCORD_HEALTH_FILE. This module imports nothing heavy, so the check is cheap to run often.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

BEAT_SECONDS = 30.0
MAX_AGE = 3 * BEAT_SECONDS  # two missed beats are tolerated (a gateway reconnect takes seconds)


class HealthFile:
    """Writes and removes the health file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def beat(self, latency: float | None = None) -> None:
        """Record that the bot is connected now (atomically, so a check never reads half a file)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        record = {"time": time.time(), "pid": os.getpid(), "latency": latency}
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, self.path)

    def clear(self) -> None:
        """Remove the file: the bot is not serving."""
        self.path.unlink(missing_ok=True)


def is_fresh(path: Path, max_age: float = MAX_AGE, now: float | None = None) -> bool:
    """True when the health file exists and was written less than `max_age` seconds ago."""
    try:
        written = json.loads(path.read_text(encoding="utf-8"))["time"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    now = time.time() if now is None else now
    return isinstance(written, (int, float)) and 0 <= now - written <= max_age


def main(argv: list[str] | None = None) -> int:
    """Exit code for a container HEALTHCHECK: 0 healthy, 1 not."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.discord_app.health", description=__doc__.split("\n")[0]
    )
    parser.add_argument("path", nargs="?", default=os.environ.get("DISCORD_HEALTH_FILE"))
    parser.add_argument("--max-age", type=float, default=MAX_AGE, help="seconds (default %(default)s)")
    args = parser.parse_args(argv)
    if not args.path:
        print("no health file: pass a path or set DISCORD_HEALTH_FILE", file=sys.stderr)
        return 1
    healthy = is_fresh(Path(args.path), args.max_age)
    print("healthy" if healthy else f"unhealthy: {args.path} is missing or older than {args.max_age:g} s")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
