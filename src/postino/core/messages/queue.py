"""The queue: handing messages to a phone slot atomically, and the clock-driven moves.

Order inside one device: urgent first, then higher priority, then older. On PostgreSQL the
claim locks with ``FOR UPDATE SKIP LOCKED`` so several Postino processes never hand out
the same message; SQLite serialises writers with ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, select, update

from ...db.tables import messages
from ..clock import utcnow
from ..errors import NoRoute
from ..routing import plan as routing
from ..service import Unit
from . import lifecycle

QUEUE_ORDER = (messages.c.urgent.desc(), messages.c.priority.desc(), messages.c.id.asc())


def _for_device(stmt: Any, device_id: int, state: str, slots: Sequence[int] | None) -> Any:
    stmt = stmt.where(messages.c.device_id == device_id, messages.c.state == state)
    if slots is not None:
        stmt = stmt.where(messages.c.slot.in_(list(slots)))
    return stmt


@lru_cache(maxsize=64)
def _pending_statements(slots: tuple[int, ...] | None) -> tuple[Any, Any]:
    """The two reads of ``held_by_device``, built once (building a statement costs more than running it)."""
    device = bindparam("device_id")
    wanted = None if slots is None else list(slots)
    held = _for_device(select(messages), device, lifecycle.ASSIGNED, wanted)
    waiting = _for_device(select(messages.c.id), device, lifecycle.QUEUED, wanted)
    return held.order_by(*QUEUE_ORDER).limit(bindparam("limit")), waiting.limit(1)


async def held_by_device(
    unit: Unit, device_id: int, *, slots: Sequence[int] | None = None, limit: int = 100
) -> tuple[list[Any], bool]:
    """What the device already holds (queue order), and whether fresh work waits for it."""
    held, waiting = _pending_statements(None if slots is None else tuple(sorted(slots)))
    rows = (await unit.conn.execute(held, {"device_id": device_id, "limit": limit})).all()
    found = await unit.conn.scalar(waiting, {"device_id": device_id})
    return list(rows), found is not None


def _queue_key(row: Any) -> tuple[bool, float, int]:
    """``QUEUE_ORDER`` in Python: urgent first, then higher priority, then older."""
    return (not row.urgent, -row.priority, row.id)


async def claim_fresh(
    unit: Unit,
    device_id: int,
    *,
    slots: Sequence[int] | None = None,
    limit: int = 100,
    lease_seconds: int | None = None,
) -> list[Any]:
    """Up to ``limit`` queued messages of this device, in queue order, leased to it now.

    Three statements whatever the count (read the rows, move them, record the events); the
    rows are not read back. Rows another transaction holds are skipped on PostgreSQL rather
    than waited for; SQLite serialises writers.
    """
    if limit <= 0:
        return []
    stmt = _for_device(select(messages), device_id, lifecycle.QUEUED, slots).order_by(*QUEUE_ORDER).limit(limit)
    rows, taken, lease_until = await _lease(unit, stmt, lease_seconds)
    if not rows:
        return []
    leased = _leased_row(rows[0]._fields)
    changed = {"state": lifecycle.ASSIGNED, "lease_until": lease_until}
    return [
        leased(**{**r._asdict(), **changed, "attempts": r.attempts + 1, "updated_at": taken[r.id].at})
        for r in rows
        if r.id in taken
    ]


async def _lease(unit: Unit, stmt: Any, lease_seconds: int | None) -> tuple[list[Any], dict[int, Any], datetime]:
    """Read the queued rows ``stmt`` selects (skipping locked ones on PostgreSQL) and lease them now.

    Returns the rows read, the moves by id (a row another claim moved first is missing),
    and the lease's end.
    """
    if unit.is_postgres:
        stmt = stmt.with_for_update(skip_locked=True)
    rows = (await unit.conn.execute(stmt)).all()
    lease_until = utcnow() + timedelta(seconds=lease_seconds or unit.settings.lease_seconds)
    if not rows:
        return [], {}, lease_until
    moved = await lifecycle.move(
        unit,
        [r.id for r in rows],
        lifecycle.ASSIGNED,
        values={"lease_until": lease_until, "attempts": messages.c.attempts + 1},
    )
    return list(rows), {m.id: m for m in moved}, lease_until


@lru_cache(maxsize=4)
def _leased_row(fields: tuple[str, ...]) -> type:
    """A row as it reads after the claim's move, without reading it back (one statement less)."""
    return namedtuple("LeasedMessage", fields)  # type: ignore[misc]


async def claim_for_device(
    unit: Unit,
    device_id: int,
    *,
    slots: Sequence[int] | None = None,
    limit: int = 100,
    lease_seconds: int | None = None,
) -> list[Any]:
    """Up to ``limit`` messages for this device, in queue order: first those it holds, then fresh ones.

    Messages already assigned to the device come back (a phone that restarted gets them
    again; the phone deduplicates by id). A phone that keeps pulling keeps what it holds
    (a paced phone may hold a hundred messages for minutes): a held lease past half its
    time is renewed. Renewing only then, not on every pull, keeps a pull a read.
    """
    held, waiting = await held_by_device(unit, device_id, slots=slots, limit=limit)
    lease = timedelta(seconds=lease_seconds or unit.settings.lease_seconds)
    now = utcnow()
    ageing = [r.id for r in held if r.lease_until is None or r.lease_until < now + lease / 2]
    if ageing:
        await _renew(unit, ageing, now + lease)
    fresh: list[Any] = []
    if waiting:
        fresh = await claim_fresh(unit, device_id, slots=slots, limit=limit - len(held), lease_seconds=lease_seconds)
    return sorted(held + fresh, key=_queue_key)


async def _renew(unit: Unit, ids: list[int], lease_until: datetime) -> None:
    """New lease for held messages; rows a report is moving right now are skipped, not waited for."""
    still_held = (
        select(messages.c.id)
        .where(messages.c.id.in_(ids), messages.c.state == lifecycle.ASSIGNED)
        .order_by(messages.c.id)
    )
    if unit.is_postgres:
        still_held = still_held.with_for_update(skip_locked=True)
    await unit.conn.execute(update(messages).where(messages.c.id.in_(still_held)).values(lease_until=lease_until))


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
        select(messages.c.id)
        .where(messages.c.state == lifecycle.SCHEDULED, messages.c.due_at <= now)
        .limit(5000)
    )
    if unit.is_postgres:
        stmt = stmt.with_for_update(skip_locked=True)
    return await enter_queue(unit, list((await unit.conn.execute(stmt)).scalars()))


async def enter_queue(unit: Unit, ids: list[int]) -> set[int]:
    """Messages waiting (scheduled, draft) go to the queue now; returns devices to wake.

    Those that name no phone or connector are routed first; what no route can take
    fails ``rejected`` at once (``reason`` rejected, error "no route") instead of waiting
    for ever. Connectors that got work hear of it after the commit.
    """
    if not ids:
        return set()
    rows = (
        await unit.conn.execute(
            select(
                messages.c.id, messages.c.account_id, messages.c.device_id, messages.c.connector_id,
                messages.c.channel, messages.c.recipient, messages.c.urgent,
            ).where(messages.c.id.in_(ids))
        )
    ).all()  # fmt: skip
    unrouted: dict[int, list[Any]] = {}
    for r in rows:
        if r.device_id is None and r.connector_id is None:
            unrouted.setdefault(r.account_id, []).append(r)
    rejected: set[int] = set()
    woken_connectors: set[int] = set()
    for account_id, waiting in unrouted.items():
        wants = [routing.Want(r.channel, r.recipient, r.urgent) for r in waiting]
        try:
            targets = await routing.plan(unit, account_id, wants)
        except NoRoute:
            targets = await _one_by_one(unit, account_id, wants)
        for r, target in zip(waiting, targets):
            if target is None:
                rejected.add(r.id)
                continue
            await unit.conn.execute(
                update(messages)
                .where(messages.c.id == r.id)
                .values(device_id=target.device_id, slot=target.slot, connector_id=target.connector_id)
            )
            if target.connector_id:
                woken_connectors.add(target.connector_id)
    moved = await lifecycle.move(unit, [r.id for r in rows], lifecycle.QUEUED)
    if rejected:  # failed from the queue: a waiting message cannot fail before it is queued
        await lifecycle.move(unit, sorted(rejected), lifecycle.FAILED, reason="rejected", error="no route")
    notifier = unit.core.notifier
    for connector_id in woken_connectors:
        unit.after_commit(lambda c=connector_id: notifier.publish(("connector", c), "MessageEnqueued"))
    return {m.device_id for m in moved if m.device_id and m.id not in rejected}


async def _one_by_one(unit: Unit, account_id: int, wants: list[routing.Want]) -> list[Any]:
    """Route each message alone, so one that no route takes does not hold back the others."""
    found: list[Any] = []
    for want in wants:
        try:
            found.append((await routing.plan(unit, account_id, [want]))[0])
        except NoRoute:
            found.append(None)
    return found


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


async def claim_for_connector(unit: Unit, connector_id: int, *, limit: int, lease_seconds: int | None = None) -> list[Any]:
    """Up to ``limit`` queued messages of a connector, in queue order, leased to it now.

    A connector's worker calls this: on PostgreSQL several nodes serving one connector
    skip each other's rows (``SKIP LOCKED``); on SQLite the claim runs in the group
    writer. A lease that runs out (the node died mid-submit) puts the message back in
    the queue, as for a phone.
    """
    if limit <= 0:
        return []
    stmt = (
        select(messages)
        .where(messages.c.connector_id == connector_id, messages.c.state == lifecycle.QUEUED)
        .order_by(*QUEUE_ORDER)
        .limit(limit)
    )
    rows, taken, _ = await _lease(unit, stmt, lease_seconds)
    return [r for r in rows if r.id in taken]


async def queued_for_connector(unit: Unit, connector_id: int) -> int:
    """How many messages wait for the connector (its queue depth)."""
    return int(
        await unit.conn.scalar(
            select(func.count())
            .select_from(messages)
            .where(messages.c.connector_id == connector_id, messages.c.state == lifecycle.QUEUED)
        )
    )


async def renew_leases(unit: Unit, ids: Sequence[int], seconds: int) -> None:
    """A connector still working on these messages keeps them (a slow, throttled carrier)."""
    if ids:
        await _renew(unit, list(ids), utcnow() + timedelta(seconds=seconds))
