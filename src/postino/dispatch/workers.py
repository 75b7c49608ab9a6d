"""Long-running background loops of a worker process (besides the scheduler tick).

A loop is a coroutine ``fn(core, stop)``: ``postino.wiring.workers`` lists them, ``serve``
starts each one when its role runs workers and sets ``stop`` on shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ..core.service import Core

Worker = Callable[[Core, asyncio.Event], Awaitable[None]]
