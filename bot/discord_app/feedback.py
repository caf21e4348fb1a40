"""Votes on answers: one per user per answer in the answer store, and a JSON line per change for review."""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from bot.discord_app.answers import FILE_NAME, AnswerStore, StoredAnswer

log = logging.getLogger(__name__)

Vote = Literal["up", "down"]


class FeedbackLog:
    """Records votes; the answers they are about are stored beside the feedback file (answers.sqlite3)."""

    def __init__(self, path: Path, answers: AnswerStore | None = None) -> None:
        self.path = path
        self.answers = answers or AnswerStore(path.parent / FILE_NAME)
        self._lock = threading.Lock()

    def record(self, user_id: int, answer: StoredAnswer, vote: Vote) -> dict | None:
        """Record a vote (blocking I/O: call it through asyncio.to_thread); None when it changed nothing.

        A later vote replaces the earlier one; the feedback file gets a line only when the vote
        changes, saying which vote it replaces, so 20 clicks on 👍 count once.
        """
        previous = self.answers.vote(answer.id, user_id, vote)
        if previous == vote:
            return None
        entry = {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "answer_id": answer.id,
            "user_id": user_id,
            "question": answer.question,
            "answer": answer.text,
            "abstained": answer.abstained,
            "citations": answer.citations,
            "vote": vote,
            "replaces": previous,
        }
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
        log.info("feedback %s from user %s recorded", vote, user_id)
        return entry
