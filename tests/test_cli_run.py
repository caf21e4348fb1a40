"""`python -m bot run` as a deployment starts it: no terminal, maybe no token, maybe no route to Discord."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(env: dict[str, str], code: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "NEWSBOT_"))}
    argv = [sys.executable, "-c", code] if code else [sys.executable, "-m", "bot", "run"]
    return subprocess.run(
        argv,
        cwd=ROOT,
        env={**base, **env},
        stdin=subprocess.DEVNULL,  # not a terminal, as in a container
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_no_token_and_no_terminal_exits_1_with_one_line(tmp_path):
    done = run({"DISCORD_TOKEN": "", "NEWSBOT_INDEX_DIR": str(tmp_path / "index")})
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "DISCORD_TOKEN" in lines[0] and "terminal" in lines[0]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "index").exists()  # nothing was built for a bot that cannot run


def test_no_route_to_discord_exits_75_without_a_traceback(tmp_path):
    # The real command, with Discord's API address pointed at a closed local port.
    code = (
        "import sys, discord.http; discord.http.Route.BASE = 'http://127.0.0.1:9/api/v10';"
        "from bot.cli import main; sys.exit(main(['run']))"
    )
    done = run(
        {
            "DISCORD_TOKEN": "fake.token.value",
            "DISCORD_STARTUP_RETRY_SECONDS": "1",
            "NEWSBOT_INDEX_DIR": str(tmp_path / "index"),
        },
        code,
    )
    assert done.returncode == 75, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("could not be reached") == 1
    assert "giving up" in done.stderr
    assert "fake.token.value" not in done.stderr
