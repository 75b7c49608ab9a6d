"""The background loop of a worker: the moves that the clock makes.

Each tick runs every job in its own transaction: scheduled messages become due, expired
leases go back to the queue, overdue messages expire, campaigns start and finish, silent
phones are noticed. Which jobs run is listed in ``postino.wiring.jobs``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from ..core.service import Core, Unit

log = logging.getLogger("postino.scheduler")

Job = Callable[[Unit], Awaitable[set[int] | None]]
"""A job gets a unit of work and may return device ids to wake."""


async def tick(core: Core, jobs: Sequence[tuple[str, Job]]) -> None:
    """Run every job once; one failing job does not stop the others."""
    for name, job in jobs:
        try:
            async with core.unit() as unit:
                woken = await job(unit)
                if woken and not isinstance(woken, int):  # expire_overdue returns a count
                    for device_id in woken:
                        unit.after_commit(
                            lambda d=device_id: core.notifier.publish(("device", d), "MessageEnqueued")
                        )
        except Exception:  # noqa: BLE001 - keep the loop alive, report it
            log.exception("scheduler job %s failed", name)


async def run(core: Core, stop: asyncio.Event, jobs: Sequence[tuple[str, Job]]) -> None:
    interval = core.settings.scheduler_interval
    while not stop.is_set():
        await tick(core, jobs)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except asyncio.TimeoutError:
            pass
