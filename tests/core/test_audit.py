"""The audit log: one JSON line per change, appended, never rewritten."""

from __future__ import annotations

from bot.core.audit import audit_path, entries, record


def test_entries_are_appended_with_who_when_what(tmp_path):
    log = audit_path(tmp_path / "corpus")
    assert log == tmp_path / "corpus-audit.jsonl" and entries(log) == []

    record(log, "added", "a.md", "https://example.org/a", user_id=7, user_name="editor", guild_id=9)
    record(log, "removed", "a.md", None, user_id=7, user_name="editor", guild_id=9)

    first, second = entries(log)
    assert (first["action"], first["article_id"], first["source"]) == ("added", "a.md", "https://example.org/a")
    assert (first["user_id"], first["user_name"], first["guild_id"]) == (7, "editor", 9)
    assert first["at"].endswith("+00:00")
    assert second["action"] == "removed"


def test_a_torn_last_line_does_not_hide_the_others(tmp_path):
    log = tmp_path / "corpus-audit.jsonl"
    record(log, "added", "a.md", "a.md")
    with log.open("a", encoding="utf-8") as f:
        f.write('{"action": "add')
    assert [e["article_id"] for e in entries(log)] == ["a.md"]
