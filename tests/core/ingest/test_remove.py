"""Removing and restoring articles: files move to corpus/.removed/ and back, nothing else changes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bot.core.ingest.corpus import load_corpus
from bot.core.ingest.remove import remove_articles, removed_ids, restore_articles
from bot.errors import IngestError


def hashes(folder: Path) -> dict[str, str]:
    """Every file under `folder` (hidden ones included) with its SHA-256."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file() and p.name != ".ingest.lock"
    }


def test_removed_article_is_kept_but_not_loaded_and_comes_back(dev_corpus: Path):
    before = hashes(dev_corpus)
    assert remove_articles(dev_corpus, ["openai-amd.md"]) == ["openai-amd.md"]
    articles, skipped = load_corpus(dev_corpus)
    assert "openai-amd.md" not in {a.id for a in articles} and not skipped
    assert (dev_corpus / ".removed" / "openai-amd.md").is_file()
    assert removed_ids(dev_corpus) == ["openai-amd.md"]
    restore_articles(dev_corpus, ["openai-amd.md"])
    assert hashes(dev_corpus) == before


def test_unknown_id_changes_nothing(dev_corpus: Path):
    before = hashes(dev_corpus)
    with pytest.raises(IngestError, match="no-such.md"):
        remove_articles(dev_corpus, ["openai-amd.md", "no-such.md"])
    assert hashes(dev_corpus) == before


@pytest.mark.parametrize("bad", ["../outside.md", "/etc/passwd", ".removed/openai-amd.md", ""])
def test_ids_outside_the_corpus_are_refused(dev_corpus: Path, bad: str):
    before = hashes(dev_corpus)
    with pytest.raises(IngestError):
        remove_articles(dev_corpus, [bad])
    assert hashes(dev_corpus) == before


def test_restore_refuses_unknown_or_taken_ids(dev_corpus: Path):
    with pytest.raises(IngestError, match="No removed article"):
        restore_articles(dev_corpus, ["openai-amd.md"])
    remove_articles(dev_corpus, ["openai-amd.md"])
    (dev_corpus / "openai-amd.md").write_text("# Another article\n\nWith the same id.\n", encoding="utf-8")
    before = hashes(dev_corpus)
    with pytest.raises(IngestError, match="already in the corpus"):
        restore_articles(dev_corpus, ["openai-amd.md"])
    assert hashes(dev_corpus) == before


def test_removing_the_same_id_twice_keeps_both_copies(dev_corpus: Path):
    first = (dev_corpus / "openai-amd.md").read_bytes()
    remove_articles(dev_corpus, ["openai-amd.md"])
    (dev_corpus / "openai-amd.md").write_text("# Second version\n\nOther text.\n", encoding="utf-8")
    remove_articles(dev_corpus, ["openai-amd.md"])
    kept = [p.read_bytes() for p in (dev_corpus / ".removed").iterdir()]
    assert first in kept and len(kept) == 2
