"""Settings: environment variables, `.env`, command-line overrides, and the Discord token kept secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from bot.cli import _parser, load_settings, main
from bot.config import BUNDLED_MODEL, RetrievalSettings, Settings

TOKEN = "MTIzNDU2Nzg5.super-secret-token.value"


# No NEWSBOT_/DISCORD_ variable from the developer's shell, and a cwd without .env (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("clean_env")


def settings_for(argv: list[str]) -> Settings:
    return load_settings(_parser().parse_args(argv))


def test_defaults():
    s = Settings()
    assert s.retrieval.corpus_dir == Path("corpus")
    assert s.retrieval.index_dir == Path("index")
    assert s.retrieval.model == BUNDLED_MODEL
    assert s.retrieval.citations == 3
    assert s.discord.token is None
    assert s.log_level == "INFO"


def test_environment_variables_are_read(monkeypatch):
    monkeypatch.setenv("NEWSBOT_CORPUS_DIR", "/data/articles")
    monkeypatch.setenv("NEWSBOT_CITATIONS", "5")
    monkeypatch.setenv("NEWSBOT_LOG_LEVEL", "DEBUG")
    s = Settings()
    assert s.retrieval.corpus_dir == Path("/data/articles")
    assert s.retrieval.citations == 5
    assert s.log_level == "DEBUG"


def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text(
        "NEWSBOT_CORPUS_DIR=from-dotenv/corpus\nNEWSBOT_CITATIONS=4\nDISCORD_TOKEN=" + TOKEN + "\n",
        encoding="utf-8",
    )
    s = Settings()
    assert s.retrieval.corpus_dir == Path("from-dotenv/corpus")
    assert s.retrieval.citations == 4
    assert s.discord.token is not None and s.discord.token.get_secret_value() == TOKEN


def test_environment_wins_over_dotenv(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("NEWSBOT_CITATIONS=4\n", encoding="utf-8")
    monkeypatch.setenv("NEWSBOT_CITATIONS", "6")
    assert Settings().retrieval.citations == 6


def test_invalid_environment_value_is_rejected(monkeypatch):
    monkeypatch.setenv("NEWSBOT_CITATIONS", "0")
    with pytest.raises(ValidationError):
        RetrievalSettings()


def test_invalid_environment_value_makes_the_cli_exit_2(monkeypatch, capsys):
    monkeypatch.setenv("NEWSBOT_CITATIONS", "many")
    assert main(["ask", "question"]) == 2
    assert "Invalid configuration" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name",
    ["DISCORD_COOLDOWN_RATE", "DISCORD_DEV_GUILD_ID", "NEWSBOT_CITATIONS", "NEWSBOT_FAISS_INDEX",
     "NEWSBOT_INGEST_TIMEOUT_SECONDS", "DISCORD_REPLY_IN_THREAD"],
)
def test_an_invalid_value_is_described_never_echoed(name, monkeypatch, capsys):
    # A token pasted into the wrong variable: pydantic's message would print part of it.
    monkeypatch.setenv(name, TOKEN)
    assert main(["ask", "question"]) == 2
    err = capsys.readouterr().err
    assert "Invalid configuration" in err and name in err
    for start in range(0, len(TOKEN) - 8):
        assert TOKEN[start : start + 8] not in err, err
    assert len(err.strip().splitlines()) == 1


def test_command_line_flags_override_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSBOT_CORPUS_DIR", "/env/corpus")
    monkeypatch.setenv("NEWSBOT_INDEX_DIR", "/env/index")
    monkeypatch.setenv("NEWSBOT_CITATIONS", "5")
    s = settings_for(["ask", "--corpus", "/flag/corpus", "--citations", "2", "--log-level", "WARNING", "q"])
    assert s.retrieval.corpus_dir == Path("/flag/corpus")
    assert s.retrieval.citations == 2
    assert s.log_level == "WARNING"
    # What the command line does not set still comes from the environment.
    assert s.retrieval.index_dir == Path("/env/index")

    (tmp_path / ".env").write_text("NEWSBOT_MODEL=some/model\n", encoding="utf-8")
    s = settings_for(["index", "--model", BUNDLED_MODEL])
    assert s.retrieval.model == BUNDLED_MODEL


def test_command_line_values_are_validated_like_the_environment(use_session_embedder, capsys):
    # NEWSBOT_CITATIONS=0 is refused (citations >= 1, <= 10); --citations 0 or 11 must be refused the
    # same way, as a configuration error, instead of reaching the answerer (nothing to cite, or too much).
    for bad in ("0", "11"):
        try:
            code = main(["ask", "--citations", bad, "--corpus", "nowhere", "--index", "nowhere-index", "q"])
        except SystemExit as exc:  # argparse refusing the value is fine too
            code = exc.code
        err = capsys.readouterr().err
        assert code == 2, f"--citations {bad} was accepted: {err}"
        assert "citations" in err


@pytest.mark.parametrize("how", ["flag", "env"])
def test_unknown_log_level_is_a_configuration_error(how, tmp_path):
    # A cheap subprocess (it fails before any model is loaded): in-process, pytest's own logging
    # handlers make logging.basicConfig ignore the level.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "DISCORD_"))}
    env.update(HF_HUB_OFFLINE="1", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    args = [sys.executable, "-m", "bot", "ask", "--corpus", str(tmp_path / "none"), "q"]
    if how == "flag":
        args += ["--log-level", "LOUD"]
    else:
        env["NEWSBOT_LOG_LEVEL"] = "LOUD"
    r = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in r.stderr, r.stderr[-500:]
    assert r.returncode == 2
    assert "NEWSBOT_LOG_LEVEL" in r.stderr and "INFO" in r.stderr
    assert "LOUD" not in r.stderr  # described, never echoed


def test_discord_token_is_a_secret(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    s = Settings()
    assert isinstance(s.discord.token, SecretStr)
    assert s.discord.token.get_secret_value() == TOKEN
    for text in (repr(s), str(s), repr(s.discord), str(s.discord), str(s.model_dump())):
        assert TOKEN not in text
    assert "**********" in repr(s.discord)


def test_discord_settings_from_environment(monkeypatch):
    monkeypatch.setenv("DISCORD_DEV_GUILD_ID", "123456789012345678")
    monkeypatch.setenv("DISCORD_MESSAGE_CONTENT", "true")
    s = Settings()
    assert s.discord.dev_guild_id == 123456789012345678
    assert s.discord.message_content is True
