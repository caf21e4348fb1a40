"""Hostile variants of issue 13's classes: each test is an input an attacker or an unlucky operator tried."""

from __future__ import annotations

import json
import os

import pytest

from bot.cli import main

SECRET = "MTIzNDU2Nzg5.hostile-secret.value"


# No NEWSBOT_/DISCORD_ variable from the developer's shell, and a cwd without .env (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("clean_env")


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


# --- class 6: batch input -----------------------------------------------------------------------

QUESTION = "What did AMD announce?"


def _batch_lines() -> list[tuple[str, bytes]]:
    """(expected id, raw line) pairs: hostile lines between valid ones."""
    good = json.dumps({"id": "good", "question": QUESTION}).encode()
    return [
        ("bom", b"\xef\xbb\xbf" + json.dumps({"id": "bom", "question": QUESTION}).encode()),
        ("crlf", json.dumps({"id": "crlf", "question": QUESTION}).encode() + b"\r"),
        ("line-3", b'{"id": "bad-utf8", "question": "What \xff\xfe did AMD announce?"}'),
        ("int", b'{"id": "int", "question": 123}'),
        ("null", b'{"id": "null", "question": null}'),
        ("list", b'{"id": "list", "question": ["What did AMD announce?"]}'),
        ("nan", b'{"id": "nan", "question": NaN}'),
        ("conv", b'{"id": "conv", "question": "What did AMD announce?", "conversation": {"a": 1}}'),
        ("u2028", json.dumps({"id": "u2028", "question": "What did AMD\u2028 announce?"}, ensure_ascii=False).encode()),
        ("good", good),
    ]


def test_every_hostile_batch_line_gets_its_own_record_and_valid_lines_are_answered(
    indexed_settings, use_session_embedder, tmp_path, capsys
):
    s = indexed_settings
    pairs = _batch_lines()
    batch = tmp_path / "batch.jsonl"
    batch.write_bytes(b"\n".join(line for _, line in pairs) + b"\n")
    code = main(["ask", "--batch", str(batch), "--corpus", str(s.corpus_dir), "--index", str(s.index_dir)])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1  # some lines failed
    assert [o["id"] for o in out] == [qid for qid, _ in pairs]
    by_id = {o["id"]: o for o in out}
    for qid in ("bom", "crlf", "u2028", "good"):
        assert "error" not in by_id[qid] and by_id[qid]["citations"], qid
    assert "not UTF-8" in by_id["line-3"]["error"]
    for qid in ("int", "null", "list", "nan"):
        assert by_id[qid]["error"] == '"question" must be a string'
    assert "conversation" in by_id["conv"]["error"]


@pytest.mark.parametrize(
    "field, value", [("kind", ["direct"]), ("answers", 123), ("sources", "a.md"), ("id", {"x": 1})]
)
def test_an_eval_line_with_a_field_of_the_wrong_type_is_one_line(field, value, tmp_path, capsys):
    item = {"id": "q1", "question": QUESTION, "kind": "direct", "sources": ["a.md"], "answers": ["AMD"]}
    item[field] = value
    path = tmp_path / "questions.jsonl"
    path.write_text(json.dumps(item) + "\n", encoding="utf-8")
    assert main(["eval", str(path), "--corpus", str(tmp_path / "c"), "--index", str(tmp_path / "i")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"{path}: line 1 has fields of the wrong type: {field}"


# --- class 2: front matter ----------------------------------------------------------------------

ARTICLE_BODY = "\n\nAMD showed a rack named Helios for data centres, shipping in 2026.\n"


@pytest.mark.parametrize(
    "front, reason",
    [
        ("title: t\ndate: 2025-13-45", "month must be in 1..12"),
        ("title: t\ndate: 2025-02-30", "day is out of range for month"),
        ("title: t\ndate: 2025-01-01 25:00:00", "hour must be in 0..23"),
    ],
)
def test_a_date_that_does_not_exist_is_refused_in_one_line(front, reason, tmp_path, capsys, caplog):
    src = tmp_path / "article.md"
    src.write_text(f"---\n{front}\n---{ARTICLE_BODY}", encoding="utf-8")
    corpus = tmp_path / "corpus"
    assert main(["ingest", str(src), "--corpus", str(corpus), "--index", str(tmp_path / "index")]) == 1
    out = capsys.readouterr().out.strip()
    refused = "its front matter is refused: it has a value that cannot be read"
    assert out == f"{src}: not added: Cannot add article.md: {refused} ({reason})."
    assert "Traceback" not in caplog.text
    assert not corpus.exists() or not any(corpus.iterdir())


def test_a_refusal_inside_the_loader_keeps_its_own_reason():
    from bot.core.ingest.frontmatter import FrontMatterError, loads

    with pytest.raises(FrontMatterError) as info:
        loads("---\na: &a [x]\nb: *a\n---\nbody")
    assert str(info.value) == "it uses YAML anchors, which are not accepted"


def test_control_characters_never_reach_the_stored_title_or_body(tmp_path, capsys):
    from bot.core.ingest.add import ingest_file
    from bot.core.ingest.frontmatter import loads

    src = tmp_path / "ctrl.md"
    src.write_text('---\ntitle: "\\x1b[31mred\\x07 \\0title"\n---\n\nAMD \x1b]0;pwned\x07 Helios rack.\n', encoding="utf-8")
    result = ingest_file(src, tmp_path / "corpus")
    stored = (tmp_path / "corpus" / result.article_id).read_text(encoding="utf-8")
    meta, body = loads(stored)
    assert "\x1b" not in stored and "\x07" not in stored and "\x00" not in stored
    assert meta["title"] == "[31mred title" and "AMD" in body and "Helios rack." in body


# --- class 10: odd states of the corpus ---------------------------------------------------------

LATIN1_NAME = os.fsdecode(b"caf\xe9.md")  # a name written on a Latin-1 system: not UTF-8


def _corpus_with(tmp_path, name: str, text: str = "# AMD\n\nAMD shows the Helios rack.\n"):
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    (corpus / "good.md").write_text("# Good\n\nNvidia opens a plant in Texas.\n", encoding="utf-8")
    (corpus / name).write_text(text, encoding="utf-8")
    return corpus


def test_a_corpus_file_whose_name_is_not_utf8_is_skipped_with_a_reason(tmp_path):
    from bot.core.index.build import corpus_checksums, fingerprint
    from bot.core.ingest.corpus import load_corpus

    corpus = _corpus_with(tmp_path, LATIN1_NAME)
    articles, skipped = load_corpus(corpus)
    assert [a.id for a in articles] == ["good.md"]
    assert [str(s) for s in skipped] == ["caf\\xe9.md: its name is not valid UTF-8; rename it"]
    str(skipped[0]).encode("utf-8")  # printable and storable
    # The build's change detection hashes the ids: it must not meet the surrogate either.
    assert list(corpus_checksums(corpus)) == ["good.md"] and fingerprint(corpus_checksums(corpus))


def test_ingesting_a_file_whose_name_is_not_utf8_stores_it(tmp_path):
    from bot.core.ingest.add import ingest_file

    src = tmp_path / LATIN1_NAME
    src.write_text("AMD shows the Helios rack to data centres.\n", encoding="utf-8")
    result = ingest_file(src, tmp_path / "corpus")
    stored = (tmp_path / "corpus" / result.article_id).read_text(encoding="utf-8")
    assert "Helios" in stored and "caf\\xe9.md" in stored


@pytest.mark.parametrize("kind", ["fifo", "device link"])
def test_ingesting_a_pipe_or_a_device_is_refused_at_once(kind, tmp_path):
    import threading

    from bot.core.ingest.add import ingest_file
    from bot.errors import IngestError

    src = tmp_path / "article.md"
    if kind == "fifo":
        os.mkfifo(src)
    else:
        src.symlink_to("/dev/zero")
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(ingest_file(src, tmp_path / "corpus"))
        except IngestError as exc:
            outcome.append(exc)

    # Without the check the read blocks forever (FIFO) or never ends (/dev/zero): a thread keeps the test bounded.
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(10)
    assert outcome, "ingest_file did not return"
    assert isinstance(outcome[0], IngestError) and "not a regular file" in outcome[0].user_message


def test_a_corpus_article_over_the_size_limit_is_skipped_without_being_read(tmp_path, monkeypatch):
    from pathlib import Path

    from bot.core.ingest import corpus as corpus_mod

    corpus = _corpus_with(tmp_path, "huge.md")
    with (corpus / "huge.md").open("r+b") as f:
        f.truncate(corpus_mod.MAX_FILE_BYTES + 1)  # sparse: 20 MB on paper, nothing on disk
    read = Path.read_bytes

    def guarded(self: Path) -> bytes:
        assert self.name != "huge.md", "the oversized file was read into memory"
        return read(self)

    monkeypatch.setattr(Path, "read_bytes", guarded)
    articles, skipped = corpus_mod.load_corpus(corpus)
    assert [a.id for a in articles] == ["good.md"]
    assert [str(s) for s in skipped] == ["huge.md: the file is larger than 20 MB"]


def test_a_corpus_path_that_is_a_file_is_named_as_such(tmp_path):
    from bot.core.ingest.corpus import corpus_files
    from bot.errors import CorpusError

    (tmp_path / "corpus").write_text("not a folder", encoding="utf-8")
    with pytest.raises(CorpusError) as info:
        corpus_files(tmp_path / "corpus")
    assert info.value.user_message == f"The corpus folder {tmp_path / 'corpus'} is a file, not a folder."


# --- class 1: a full disk -----------------------------------------------------------------------


@pytest.mark.parametrize("replace", [False, True])
def test_a_full_disk_during_ingest_is_one_line_and_leaves_nothing_behind(replace, tmp_path, monkeypatch, caplog):
    import errno

    import bot.core.ingest.add as add

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    target = corpus / "article.md"
    if replace:
        target.write_text("old text\n", encoding="utf-8")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(add.os, "fsync", full)  # the write reached the disk's limit
    with pytest.raises(add.IngestError) as info:
        add._write(target, "---\ntitle: t\n---\nbody\n", replace=replace)
    what = "the article was not updated" if replace else "nothing was stored"
    assert info.value.user_message == f"Cannot store article.md: the disk holding the corpus is full; {what}."
    assert sorted(p.name for p in corpus.iterdir()) == (["article.md"] if replace else [])
    if replace:
        assert target.read_text(encoding="utf-8") == "old text\n"


def test_a_full_disk_at_ingest_through_the_cli_is_not_an_unexpected_error(tmp_path, monkeypatch, capsys):
    import errno

    import bot.core.ingest.add as add

    src = tmp_path / "article.md"
    src.write_text("# AMD\n\nAMD shows the Helios rack.\n", encoding="utf-8")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(add.os, "fsync", full)
    assert main(["ingest", str(src), "--corpus", str(tmp_path / "c"), "--index", str(tmp_path / "i")]) == 1
    out, err = capsys.readouterr()
    assert out.strip() == f"{src}: not added: Cannot store amd.md: the disk holding the corpus is full; nothing was stored."
    assert "Traceback" not in err
    assert [p.name for p in (tmp_path / "c").iterdir() if p.name.startswith(".ingest-")] == []


def test_a_full_disk_at_the_build_after_ingest_says_what_to_run_once(tmp_path, monkeypatch, capsys):
    import bot.core.index.build as build
    from bot.errors import DiskFull

    src = tmp_path / "article.md"
    src.write_text("# AMD\n\nAMD shows the Helios rack.\n", encoding="utf-8")

    def full(*args, **kwargs):
        raise DiskFull(str(tmp_path / "i"))

    monkeypatch.setattr(build, "build_index", full)
    assert main(["ingest", str(src), "--corpus", str(tmp_path / "c"), "--index", str(tmp_path / "i")]) == 1
    out = capsys.readouterr().out
    assert "Stored but not yet indexed" in out and out.count("python -m bot index") == 1
