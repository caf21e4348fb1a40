"""The answers the buttons refer to, and one vote per user per answer, kept in a small SQLite file.

The buttons under an answer carry only its id (discord_app/views.py); what they need after a
restart (the passages "Show passages" sends, the question a vote is about) lives here. Bounded:
only the last `keep` answers are kept; older ones (and their votes) are forgotten and their
buttons say the answer has expired. Blocking I/O: call through asyncio.to_thread.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bot.models import Answer

FILE_NAME = "answers.sqlite3"
KEEP = 10_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    answer_id TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    vote TEXT NOT NULL,
    time TEXT NOT NULL,
    PRIMARY KEY (answer_id, user_id)
);
"""


@dataclass(frozen=True)
class StoredAnswer:
    """What the buttons of one answer need: the feedback record's fields and the passages' embeds."""

    id: str
    question: str
    text: str
    abstained: bool
    citations: list[str]
    # One list of embed dicts per message "Show passages" sends (render.passage_messages).
    passages: list[list[dict]]


def new_id() -> str:
    """A random answer id: 16 hex digits, short enough for a custom_id, not guessable."""
    return secrets.token_hex(8)


class AnswerStore:
    """answers (the last `keep`) and votes keyed by (answer id, user id); safe from several threads."""

    def __init__(self, path: Path, keep: int = KEEP) -> None:
        self.path = path
        self.keep = keep
        self._lock = threading.Lock()
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        if not self._ready:
            db.executescript(_SCHEMA)
            self._ready = True
        return db

    def add(self, answer: Answer, passages: list[list[dict]]) -> StoredAnswer:
        """Store an answer under a new id, forgetting the oldest beyond `keep`."""
        stored = StoredAnswer(
            id=new_id(),
            question=answer.question,
            text=answer.text,
            abstained=answer.abstained,
            citations=[c.passage.id for c in answer.citations],
            passages=passages,
        )
        data = json.dumps(stored.__dict__, ensure_ascii=False)
        with self._lock, closing(self._connect()) as db, db:
            seq = db.execute("INSERT INTO answers (id, data) VALUES (?, ?)", (stored.id, data)).lastrowid
            oldest = (seq or 0) - self.keep
            if oldest > 0:
                db.execute(
                    "DELETE FROM votes WHERE answer_id IN (SELECT id FROM answers WHERE seq <= ?)", (oldest,)
                )
                db.execute("DELETE FROM answers WHERE seq <= ?", (oldest,))
        return stored

    def get(self, answer_id: str) -> StoredAnswer | None:
        """The stored answer, or None when it was never stored or has been forgotten."""
        with self._lock, closing(self._connect()) as db:
            row = db.execute("SELECT data FROM answers WHERE id = ?", (answer_id,)).fetchone()
        return StoredAnswer(**json.loads(row[0])) if row else None

    def vote(self, answer_id: str, user_id: int, vote: str) -> str | None:
        """Record a user's vote on an answer, replacing an earlier one; returns the earlier vote."""
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._lock, closing(self._connect()) as db, db:
            row = db.execute(
                "SELECT vote FROM votes WHERE answer_id = ? AND user_id = ?", (answer_id, user_id)
            ).fetchone()
            # Only for an answer still stored: a forgotten answer's buttons say it has expired.
            db.execute(
                "INSERT OR REPLACE INTO votes (answer_id, user_id, vote, time)"
                " SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM answers WHERE id = ?)",
                (answer_id, user_id, vote, now, answer_id),
            )
        return row[0] if row else None

    def votes(self, answer_id: str) -> dict[int, str]:
        """user id -> vote, for one answer."""
        with self._lock, closing(self._connect()) as db:
            rows = db.execute("SELECT user_id, vote FROM votes WHERE answer_id = ?", (answer_id,)).fetchall()
        return dict(rows)
