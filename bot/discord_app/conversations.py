"""The conversation of each thread or DM, kept in a bounded least-recently-used map."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

from bot.models import Conversation


@dataclass
class Session:
    """One thread's or DM's conversation, with a lock so its questions are answered in order."""

    conversation: Conversation = field(default_factory=Conversation)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Sessions:
    """channel id (thread or DM) -> Session, forgetting the least recently used beyond `maxsize`."""

    def __init__(self, maxsize: int = 1000) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[int, Session] = OrderedDict()

    def get(self, channel_id: int) -> Session:
        """The session of a channel, created empty on first use."""
        session = self._items.get(channel_id)
        if session is None:
            session = self._items[channel_id] = Session()
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(channel_id)
        return session

    def __contains__(self, channel_id: object) -> bool:
        return channel_id in self._items

    def __len__(self) -> int:
        return len(self._items)
