"""A per-user rate limit shared by /ask, /search and chat, which all cost CPU time."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class _Window:
    start: float
    used: int


class UserCooldown:
    """At most `rate` questions per `per` seconds for each user, counted in fixed windows.

    The clock is `time.monotonic()`, looked up at each call: that is the clock simcord
    virtualises, so tests move it with `env.advance_time` (discord.py's own Cooldown reads
    `time.time()`, which tests cannot move).
    """

    def __init__(self, rate: int, per: float, max_users: int = 10_000) -> None:
        self.rate = rate
        self.per = per
        self.max_users = max_users
        self._windows: dict[int, _Window] = {}

    def hit(self, user_id: int) -> float | None:
        """Count one use; return None when allowed, else the seconds to wait before retrying."""
        now = time.monotonic()
        window = self._windows.get(user_id)
        if window is None or now - window.start >= self.per:
            if len(self._windows) >= self.max_users:
                self._forget_expired(now)
            self._windows[user_id] = _Window(now, 1)
            return None
        if window.used < self.rate:
            window.used += 1
            return None
        return max(0.0, self.per - (now - window.start))

    def _forget_expired(self, now: float) -> None:
        """Keep memory bounded: drop windows that have run out."""
        for user_id in [u for u, w in self._windows.items() if now - w.start >= self.per]:
            del self._windows[user_id]
