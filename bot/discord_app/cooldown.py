"""The one limiter for every reply the bot makes: per user (answers and replies) and for the bot as a whole."""

from __future__ import annotations

import time
from dataclasses import dataclass

BUSY = "I am busy answering other questions: try again in a moment."


@dataclass
class _Window:
    start: float
    used: int = 0  # questions admitted for an answer (they cost CPU time)
    replies: int = 0  # every message the bot sent this user in chat: answers, refusals, hints
    warned: bool = False  # the "too fast" notice was given in this window


class UserCooldown:
    """Per user: at most `rate` answers and `replies` replies per `per` seconds (fixed windows).

    Globally: at most `max_concurrent` questions being answered at once (`try_start`/`finish`).

    A refusal that costs nothing to compute (empty or over-long question, "busy") does not use
    the answering allowance, but it is still a reply: past `replies` in a window the bot stays
    silent in chat, so nobody can make it post 30 messages in 30 s.

    The clock is `time.monotonic()`, looked up at each call: that is the clock simcord
    virtualises, so tests move it with `env.advance_time` (discord.py's own Cooldown reads
    `time.time()`, which tests cannot move).
    """

    def __init__(
        self,
        rate: int,
        per: float,
        max_concurrent: int = 4,
        *,
        replies: int | None = None,
        max_users: int = 10_000,
    ) -> None:
        self.rate = rate
        self.per = per
        # Room for a few free refusals on top of the answers, so a typo does not cost an answer.
        self.replies = replies if replies is not None else 2 * rate
        self.max_concurrent = max_concurrent
        self.max_users = max_users
        self.active = 0
        self._windows: dict[int, _Window] = {}

    def _window(self, user_id: int) -> _Window:
        now = time.monotonic()
        window = self._windows.get(user_id)
        if window is None or now - window.start >= self.per:
            if len(self._windows) >= self.max_users:
                self._forget_expired(now)
            window = self._windows[user_id] = _Window(now)
        return window

    def hit(self, user_id: int) -> float | None:
        """Count one answer (and its reply); None when allowed, else the seconds to wait before retrying."""
        window = self._window(user_id)
        if window.used < self.rate:
            window.used += 1
            window.replies += 1
            return None
        return max(0.0, self.per - (time.monotonic() - window.start))

    def refund(self, user_id: int) -> None:
        """Give back an answer admitted by `hit` that was not given after all (the bot was busy)."""
        window = self._windows.get(user_id)
        if window is not None and window.used > 0:
            window.used -= 1
            window.replies = max(0, window.replies - 1)

    def free_reply(self, user_id: int) -> bool:
        """Count a reply that costs no answer (hint, refusal, busy); False when the user had enough."""
        window = self._window(user_id)
        if window.replies >= self.replies:
            return False
        window.replies += 1
        return True

    def warn(self, user_id: int) -> bool:
        """Whether to send the "too fast" notice: once per window, and only within the reply allowance."""
        window = self._window(user_id)
        if window.warned:
            return False
        window.warned = True
        return self.free_reply(user_id)

    def try_start(self) -> bool:
        """Take one of the `max_concurrent` answering slots; False when all are taken."""
        if self.active >= self.max_concurrent:
            return False
        self.active += 1
        return True

    def finish(self) -> None:
        """Give back a slot taken by `try_start`."""
        self.active = max(0, self.active - 1)

    def _forget_expired(self, now: float) -> None:
        """Keep memory bounded: drop windows that have run out."""
        for user_id in [u for u, w in self._windows.items() if now - w.start >= self.per]:
            del self._windows[user_id]
