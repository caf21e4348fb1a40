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


def test_an_unwritable_index_folder_is_one_line_before_anything_loads(tmp_path):
    # A file where a folder should be: unwritable even for root (who ignores permission bits).
    blocker = tmp_path / "mounted"
    blocker.write_text("not a folder")
    done = run({"DISCORD_TOKEN": "fake.token.value", "NEWSBOT_INDEX_DIR": str(blocker / "index")})
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "index folder" in lines[0] and "not writable" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_no_writable_temp_folder_is_one_line(tmp_path):
    # As under `docker run --read-only`: no candidate temp folder can be written to.
    code = (
        "import sys, tempfile; tempfile._candidate_tempdir_list = lambda: ['/nonexistent/tmp'];"
        "from bot.cli import main; sys.exit(main(['run']))"
    )
    done = run({"DISCORD_TOKEN": "fake.token.value", "NEWSBOT_INDEX_DIR": str(tmp_path / "index")}, code)
    assert done.returncode == 1
    assert "No writable temporary folder" in done.stderr and "--tmpfs /tmp" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
