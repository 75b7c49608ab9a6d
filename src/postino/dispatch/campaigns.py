"""The campaigns worker: expands campaigns and hands out unpaced ones, one transaction per step.

A step is one page of contacts or one chunk of drafts (``core.contacts.campaigns.advance``),
so a campaign of a hundred thousand numbers streams through in bounded memory and a
crash loses at most the step in flight. The loop goes on while steps make progress and
otherwise sleeps until a campaign starts or resumes here (the ``campaigns`` wake-up) or
``POLL_SECONDS`` pass (work another process created).
"""

from __future__ import annotations

import asyncio
import logging

from ..core.contacts import campaigns
from ..core.service import Core

log = logging.getLogger("postino.campaigns")

POLL_SECONDS = 1.0
BETWEEN_STEPS = 0.001
"""A breath between two steps: on SQLite the requests' writes waiting for the one write
lock (``Database.write_turn``) get it before the next page takes it again."""


async def step(core: Core) -> bool:
    """One step in its own transaction; whether it moved anything."""
    async with core.unit() as unit:
        moved, woken = await campaigns.advance(unit)
        for device_id in woken:
            unit.after_commit(lambda d=device_id: core.notifier.publish(("device", d), "MessageEnqueued"))
    return moved


async def run(core: Core, stop: asyncio.Event) -> None:
    inbox = core.notifier.subscribe(campaigns.WAKE)
    try:
        while not stop.is_set():
            try:
                moved = await step(core)
            except Exception:  # noqa: BLE001 - e.g. the database is away; try again next round
                log.exception("campaign step failed")
                moved = False
            if moved:
                await asyncio.sleep(BETWEEN_STEPS)
                continue
            while not inbox.empty():
                inbox.get_nowait()
            waiters = [asyncio.ensure_future(inbox.get()), asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(waiters, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
    finally:
        core.notifier.unsubscribe(campaigns.WAKE, inbox)
