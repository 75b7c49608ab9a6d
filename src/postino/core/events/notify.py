"""Wake-ups inside one process: a phone's event stream hears that work is waiting.

Only a hint, never the source of truth: the queue is in the database, so a lost
wake-up delays a message until the phone's next poll, it never loses it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any


class Notifier:
    def __init__(self) -> None:
        self._subscribers: dict[Any, set[asyncio.Queue]] = defaultdict(set)
        self._listeners: list[Callable[[Any, str, dict], None]] = []

    def subscribe(self, key: Any) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=100)
        self._subscribers[key].add(queue)
        return queue

    def unsubscribe(self, key: Any, queue: asyncio.Queue) -> None:
        subs = self._subscribers.get(key)
        if subs is not None:
            subs.discard(queue)
            if not subs:
                del self._subscribers[key]

    def add_listener(self, fn: Callable[[Any, str, dict], None]) -> None:
        """Also call ``fn(key, event, data)`` on every publish (cross-process relays)."""
        self._listeners.append(fn)

    def publish(self, key: Any, event: str, data: dict | None = None, *, relay: bool = True) -> None:
        payload = data or {}
        for queue in list(self._subscribers.get(key, ())):
            try:
                queue.put_nowait((event, payload))
            except asyncio.QueueFull:
                pass  # the subscriber is behind; it will pull everything anyway
        if relay:
            for fn in self._listeners:
                fn(key, event, payload)

    def keys(self) -> list[Any]:
        """Every key someone listens on here (a relay wakes them all after a gap)."""
        return list(self._subscribers)
