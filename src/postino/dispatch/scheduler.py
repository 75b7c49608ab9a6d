"""The background loop of a worker: the moves that the clock makes.

Each tick runs every registered job in its own transaction: scheduled messages become
due, expired leases go back to the queue, overdue messages expire. Other parts of
Postino (campaigns, device presence, the outbox) register their jobs here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ..core import queue
from ..core.service import Core, Unit

log = logging.getLogger("postino.scheduler")

Job = Callable[[Unit], Awaitable[set[int] | None]]
"""A job gets a unit of work and may return device ids to wake."""

JOBS: list[tuple[str, Job]] = [
    ("promote_due", queue.promote_due),
    ("release_expired_leases", queue.release_expired_leases),
    ("expire_overdue", queue.expire_overdue),
]


def register_job(name: str, job: Job) -> None:
    if all(existing != name for existing, _ in JOBS):
        JOBS.append((name, job))


async def tick(core: Core) -> None:
    """Run every job once; one failing job does not stop the others."""
    for name, job in list(JOBS):
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


async def run(core: Core, stop: asyncio.Event) -> None:
    interval = core.settings.scheduler_interval
    while not stop.is_set():
        await tick(core)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except asyncio.TimeoutError:
            pass
