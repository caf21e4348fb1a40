"""The small state the bot keeps: conversations per thread (bounded) and per-user cooldowns."""

from __future__ import annotations

import time

from bot.discord_app.conversations import Sessions
from bot.discord_app.cooldown import UserCooldown


def test_sessions_forget_the_least_recently_used():
    sessions = Sessions(maxsize=3)
    first = sessions.get(1)
    sessions.get(2)
    sessions.get(3)
    assert sessions.get(1) is first  # used again: now the most recent
    sessions.get(4)
    assert len(sessions) == 3
    assert 2 not in sessions and 1 in sessions


def test_cooldown_counts_per_user_and_window(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    limit = UserCooldown(rate=2, per=10)
    assert limit.hit(1) is None and limit.hit(1) is None
    assert limit.hit(1) == 10
    assert limit.hit(2) is None  # another user has their own window
    now[0] += 4
    assert limit.hit(1) == 6
    now[0] += 6
    assert limit.hit(1) is None


def test_refusals_are_free_answers_but_still_replies(monkeypatch):
    monkeypatch.setattr(time, "monotonic", lambda: 1000.0)
    limit = UserCooldown(rate=2, per=10, replies=3)
    assert limit.free_reply(1) and limit.free_reply(1)  # two refusals...
    assert limit.hit(1) is None  # ...cost no answer
    assert not limit.free_reply(1)  # but the reply allowance (3) is used up
    assert limit.hit(1) is None  # answers have their own allowance (2)
    assert limit.hit(1) == 10 and limit.warn(1) is False  # no reply left for even the notice


def test_too_fast_notice_once_per_window_and_refund(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    limit = UserCooldown(rate=1, per=10)
    assert limit.hit(1) is None
    limit.refund(1)  # the answer was not given (busy): the turn comes back
    assert limit.hit(1) is None
    assert limit.hit(1) == 10
    assert limit.warn(1) is True and limit.warn(1) is False
    now[0] += 10
    assert limit.hit(1) is None and limit.hit(1) == 10 and limit.warn(1) is True


def test_global_bound():
    limit = UserCooldown(rate=1, per=10, max_concurrent=2)
    assert limit.try_start() and limit.try_start()
    assert not limit.try_start()
    limit.finish()
    assert limit.try_start()
