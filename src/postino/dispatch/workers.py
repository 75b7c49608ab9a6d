"""Long-running background loops of a worker process (besides the scheduler tick).

A part of Postino that needs its own loop (the outbox sender, connectors) registers a
coroutine ``fn(core, stop)`` here; ``serve`` starts each one when its role runs workers,
and sets ``stop`` on shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ..core.service import Core

Worker = Callable[[Core, asyncio.Event], Awaitable[None]]
WORKERS: dict[str, Worker] = {}


def register_worker(name: str, fn: Worker) -> None:
    WORKERS[name] = fn
