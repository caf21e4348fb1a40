"""Removing articles from the corpus and restoring them: files move to and from `corpus/.removed/`.

The corpus loader skips dot folders, so a removed file is kept (a mistake can be undone) but never
indexed. Moving files does not touch the index: the caller updates it once for the whole batch.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path, PurePosixPath

from bot.core.ingest.add import _lock
from bot.core.ingest.corpus import SUFFIXES, corpus_files
from bot.errors import IngestError

log = logging.getLogger(__name__)

REMOVED_DIR = ".removed"


def removed_dir(corpus_dir: Path) -> Path:
    """The folder removed articles are kept in (inside the corpus, hidden from the loader)."""
    return corpus_dir / REMOVED_DIR


def _clean_id(article_id: str) -> str:
    """The id as a safe relative path; refuses anything that could point outside the corpus."""
    text = article_id.strip()
    parts = PurePosixPath(text).parts
    if not text or text.startswith("/") or any(p in ("..", "") or p.startswith(".") for p in parts):
        raise IngestError(f"No article has the id {text!r}: list them with /articles.")
    return PurePosixPath(*parts).as_posix()


def article_ids(corpus_dir: Path) -> list[str]:
    """The ids of the articles in the corpus folder (removed ones excluded)."""
    return [p.relative_to(corpus_dir).as_posix() for p in corpus_files(corpus_dir)]


def removed_ids(corpus_dir: Path) -> list[str]:
    """The ids of the removed articles that can be restored."""
    folder = removed_dir(corpus_dir)
    if not folder.is_dir():
        return []
    return sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
    )


def _keep_aside(target: Path) -> None:
    # An article removed twice under one id: the older removed copy is kept under a dated name.
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    os.replace(target, target.with_name(f"{target.stem}.{stamp}{target.suffix}.old"))


def remove_articles(corpus_dir: Path, ids: list[str]) -> list[str]:
    """Move the articles `ids` into `.removed/`; all ids are checked first, so an unknown one changes nothing."""
    with _lock(corpus_dir):
        known = set(article_ids(corpus_dir))
        wanted = list(dict.fromkeys(_clean_id(i) for i in ids))
        unknown = [i for i in wanted if i not in known]
        if unknown:
            raise IngestError(
                f"No article has the id {', '.join(unknown)}; nothing was removed (list them with /articles)."
            )
        for article_id in wanted:
            target = removed_dir(corpus_dir) / article_id
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                _keep_aside(target)
            os.replace(corpus_dir / article_id, target)
            log.info("Removed %s (kept in %s)", article_id, target)
    return wanted


def restore_articles(corpus_dir: Path, ids: list[str]) -> list[str]:
    """Move removed articles back into the corpus; all ids are checked first, so a bad one changes nothing."""
    with _lock(corpus_dir):
        wanted = list(dict.fromkeys(_clean_id(i) for i in ids))
        kept = set(removed_ids(corpus_dir))
        unknown = [i for i in wanted if i not in kept]
        if unknown:
            raise IngestError(f"No removed article has the id {', '.join(unknown)}; nothing was restored.")
        taken = [i for i in wanted if (corpus_dir / i).exists()]
        if taken:
            raise IngestError(
                f"An article with the id {', '.join(taken)} is already in the corpus; nothing was restored."
            )
        for article_id in wanted:
            target = corpus_dir / article_id
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(removed_dir(corpus_dir) / article_id, target)
            log.info("Restored %s", article_id)
    return wanted
