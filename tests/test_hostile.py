"""Hostile variants of issue 13's classes: each test is an input an attacker or an unlucky operator tried."""

from __future__ import annotations

import os

import pytest

from bot.cli import main

SECRET = "MTIzNDU2Nzg5.hostile-secret.value"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No NEWSBOT_/DISCORD_ variable from the developer's shell, and a cwd without .env."""
    for name in list(os.environ):
        if name.startswith(("NEWSBOT_", "DISCORD_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


# --- class 11: settings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "NEWSBOT_FEEDS_INTERVAL_MINUTES",
        "DISCORD_COOLDOWN_SECONDS",
        "NEWSBOT_INGEST_TIMEOUT_SECONDS",
        "NEWSBOT_ABSTAIN_THRESHOLD",
    ],
)
@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_infinite_or_nan_settings_are_refused(name, value, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(name, value)
    assert main(["feeds", "list", "--corpus", str(tmp_path / "corpus")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Invalid configuration:") and name in err
    assert len(err.strip().splitlines()) == 1


def test_a_dotenv_file_that_is_not_utf8_is_one_line(tmp_path, capsys):
    (tmp_path / ".env").write_bytes(b"\xff\xfeDISCORD_TOKEN=" + SECRET.encode() + b"\n")
    assert main(["feeds", "list", "--corpus", str(tmp_path / "corpus")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "Invalid configuration: the .env file is not UTF-8 text (save it as UTF-8)"


@pytest.mark.parametrize(
    "name",
    ["NEWSBOT_FEEDS_MAX_ENTRIES", "NEWSBOT_FEEDS_INTERVAL_MINUTES", "DISCORD_MAX_CONCURRENT_ANSWERS"],
)
def test_a_secret_in_a_dotenv_setting_of_the_wrong_type_is_not_echoed(name, tmp_path, capsys):
    (tmp_path / ".env").write_text(f"{name}={SECRET}\n", encoding="utf-8")
    assert main(["feeds", "list", "--corpus", str(tmp_path / "corpus")]) == 2
    err = capsys.readouterr().err
    assert name in err and "hostile-secret" not in err and "MTIz" not in err


# --- class 3: credentials -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "user:pw-hostile-secret@host.com/x",
        "user:pw-hostile-secret@host.com/article.md",
        "user:pw-hostile-secret@host.com",
        "//user:pw-hostile-secret@host.com/x",
    ],
)
def test_a_link_with_credentials_but_no_scheme_is_refused_without_echoing_them(source, tmp_path, capsys, caplog):
    corpus = tmp_path / "corpus"
    assert main(["ingest", source, "--corpus", str(corpus), "--index", str(tmp_path / "index")]) == 1
    out, err = capsys.readouterr()
    assert "user name or password" in out
    for text in (out, err, caplog.text):
        assert "pw-hostile-secret" not in text
    assert not corpus.exists() or not any(corpus.iterdir())


def test_a_feed_link_with_credentials_but_no_scheme_is_not_echoed(tmp_path, capsys):
    assert main(["feeds", "add", "u:pw-hostile-secret@example.com/rss", "--corpus", str(tmp_path / "c")]) == 1
    out, err = capsys.readouterr()
    assert "Cannot follow" in err and "pw-hostile-secret" not in out + err
