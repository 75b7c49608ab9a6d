"""The queue: handing messages to a phone slot atomically, and the clock-driven moves.

Order inside one device: urgent first, then higher priority, then older. On PostgreSQL the
claim locks with ``FOR UPDATE SKIP LOCKED`` so several Postino processes never hand out
the same message; SQLite serialises writers with ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from ..db.tables import messages
from . import lifecycle, routing
from .clock import utcnow
from .errors import NoRoute
from .service import Unit

QUEUE_ORDER = (messages.c.urgent.desc(), messages.c.priority.desc(), messages.c.id.asc())


async def claim_for_device(
    unit: Unit,
    device_id: int,
    *,
    slots: Sequence[int] | None = None,
    limit: int = 100,
    lease_seconds: int | None = None,
) -> list[Any]:
    """Up to ``limit`` messages for this device, in queue order, leased to it.

    Messages already assigned to the device and still leased come first again (a phone
    that restarted gets them back; the phone deduplicates by id), their lease renewed.
    """
    now = utcnow()
    lease_until = now + timedelta(seconds=lease_seconds or unit.settings.lease_seconds)
    held = select(messages.c.id).where(messages.c.device_id == device_id, messages.c.state == lifecycle.ASSIGNED)
    fresh = select(messages.c.id).where(messages.c.device_id == device_id, messages.c.state == lifecycle.QUEUED)
    if slots is not None:
        held = held.where(messages.c.slot.in_(list(slots)))
        fresh = fresh.where(messages.c.slot.in_(list(slots)))
    held = held.order_by(*QUEUE_ORDER).limit(limit)
    if unit.is_postgres:
        # A report may be moving some of them right now: skip those rather than wait for
        # their locks (waiting here while the report waits for ours is a deadlock).
        held = held.with_for_update(skip_locked=True)
    held_ids = list((await unit.conn.execute(held)).scalars())
    fresh_ids: list[int] = []
    if len(held_ids) < limit:
        fresh = fresh.order_by(*QUEUE_ORDER).limit(limit - len(held_ids))
        if unit.is_postgres:
            fresh = fresh.with_for_update(skip_locked=True)
        fresh_ids = list((await unit.conn.execute(fresh)).scalars())
    if held_ids:
        await unit.conn.execute(update(messages).where(messages.c.id.in_(held_ids)).values(lease_until=lease_until))
    if fresh_ids:
        await lifecycle.move(
            unit,
            fresh_ids,
            lifecycle.ASSIGNED,
            values={"lease_until": lease_until, "attempts": messages.c.attempts + 1},
        )
    ids = held_ids + fresh_ids
    if not ids:
        return []
    rows = (await unit.conn.execute(select(messages).where(messages.c.id.in_(ids)))).all()
    by_id = {r.id: r for r in rows}
    ordered = [by_id[i] for i in ids if i in by_id]
    ordered.sort(key=lambda r: (not r.urgent, -r.priority, r.id))
    return ordered


async def release_expired_leases(unit: Unit, now: datetime | None = None) -> set[int]:
    """Assigned messages whose lease ran out go back to ``queued``; returns devices to wake."""
    now = now or utcnow()
    stmt = (
        select(messages.c.id)
        .where(messages.c.state == lifecycle.ASSIGNED, messages.c.lease_until < now)
        .limit(5000)
    )
    if unit.is_postgres:
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list((await unit.conn.execute(stmt)).scalars())
    moved = await lifecycle.move(unit, ids, lifecycle.QUEUED, detail="lease expired")
    return {m.device_id for m in moved if m.device_id}


async def promote_due(unit: Unit, now: datetime | None = None) -> set[int]:
    """Scheduled messages whose time has come enter the queue; returns devices to wake."""
    now = now or utcnow()
    stmt = (
        select(messages.c.id, messages.c.account_id, messages.c.device_id, messages.c.channel)
        .where(messages.c.state == lifecycle.SCHEDULED, messages.c.due_at <= now)
        .limit(5000)
    )
    if unit.is_postgres:
        stmt = stmt.with_for_update(skip_locked=True)
    rows = (await unit.conn.execute(stmt)).all()
    unrouted: dict[tuple[int, str], list[int]] = {}
    for r in rows:
        if r.device_id is None:
            unrouted.setdefault((r.account_id, r.channel), []).append(r.id)
    rejected: list[int] = []
    for (account_id, channel), ids in unrouted.items():
        try:
            targets = await routing.plan(unit, account_id, channel, len(ids))
        except NoRoute:
            rejected.extend(ids)
            continue
        for mid, target in zip(ids, targets):
            await unit.conn.execute(
                update(messages).where(messages.c.id == mid).values(device_id=target.device_id, slot=target.slot)
            )
    if rejected:
        await lifecycle.move(unit, rejected, lifecycle.FAILED, reason="rejected", error="no route")
    ready = [r.id for r in rows if r.id not in set(rejected)]
    moved = await lifecycle.move(unit, ready, lifecycle.QUEUED)
    return {m.device_id for m in moved if m.device_id}


async def expire_overdue(unit: Unit, now: datetime | None = None) -> int:
    """Messages not taken before their validity ends become ``expired``."""
    now = now or utcnow()
    stmt = (
        select(messages.c.id)
        .where(
            messages.c.state.in_(sorted(lifecycle.ALLOWED_FROM[lifecycle.EXPIRED])),
            messages.c.valid_until.is_not(None),
            messages.c.valid_until < now,
        )
        .limit(5000)
    )
    ids = list((await unit.conn.execute(stmt)).scalars())
    moved = await lifecycle.move(unit, ids, lifecycle.EXPIRED, reason="timeout", detail="validity ended")
    return len(moved)


async def has_work_for_device(unit: Unit, device_id: int) -> bool:
    """Whether anything is queued or leased for the device: lets an idle poll skip the write lock."""
    found = await unit.conn.scalar(
        select(messages.c.id)
        .where(messages.c.device_id == device_id, messages.c.state.in_((lifecycle.QUEUED, lifecycle.ASSIGNED)))
        .limit(1)
    )
    return found is not None
