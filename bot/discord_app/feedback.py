"""Votes on answers, appended as JSON lines to the feedback file for later review."""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from bot.models import Answer

log = logging.getLogger(__name__)

Vote = Literal["up", "down"]


class FeedbackLog:
    """Appends one JSON object per vote to a file; safe to call from several threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, user_id: int, answer: Answer, vote: Vote) -> dict:
        """Append one vote (blocking file I/O: call it through asyncio.to_thread) and return it."""
        entry = {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "user_id": user_id,
            "question": answer.question,
            "answer": answer.text,
            "abstained": answer.abstained,
            "citations": [c.passage.id for c in answer.citations],
            "vote": vote,
        }
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
        log.info("feedback %s from user %s recorded", vote, user_id)
        return entry
