"""The queue: handing messages to a phone slot atomically, and the clock-driven moves.

Order inside one device: urgent first, then higher priority, then older. On PostgreSQL the
claim locks with ``FOR UPDATE SKIP LOCKED`` so several Postino processes never hand out
the same message; SQLite serialises writers with ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, select, update

from ..db.tables import messages
from . import lifecycle, routing
from .clock import utcnow
from .errors import NoRoute
from .service import Core, Unit

T = TypeVar("T")

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
    if unit.is_postgres:
        stmt = stmt.with_for_update(skip_locked=True)
    rows = (await unit.conn.execute(stmt)).all()
    if not rows:
        return []
    lease_until = utcnow() + timedelta(seconds=lease_seconds or unit.settings.lease_seconds)
    moved = await lifecycle.move(
        unit,
        [r.id for r in rows],
        lifecycle.ASSIGNED,
        values={"lease_until": lease_until, "attempts": messages.c.attempts + 1},
    )
    taken = {m.id: m for m in moved}
    leased = _leased_row(rows[0]._fields)
    changed = {"state": lifecycle.ASSIGNED, "lease_until": lease_until}
    return [
        leased(**{**r._asdict(), **changed, "attempts": r.attempts + 1, "updated_at": taken[r.id].at})
        for r in rows
        if r.id in taken
    ]


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


class _WouldSuspend(Exception):
    """The code waited for something other than the database: it needs a real unit."""


class _ConnectionNow:
    """The part of ``AsyncConnection`` core code uses, over a plain connection: every await completes at once."""

    def __init__(self, conn: Connection) -> None:
        self.sync_connection = conn

    async def execute(self, statement: Any, parameters: Any = None, **kwargs: Any) -> Any:
        return self.sync_connection.execute(statement, parameters, **kwargs)

    async def scalar(self, statement: Any, parameters: Any = None, **kwargs: Any) -> Any:
        return self.sync_connection.scalar(statement, parameters, **kwargs)

    async def scalars(self, statement: Any, parameters: Any = None, **kwargs: Any) -> Any:
        return self.sync_connection.scalars(statement, parameters, **kwargs)

    async def exec_driver_sql(self, statement: str, parameters: Any = None, **kwargs: Any) -> Any:
        return self.sync_connection.exec_driver_sql(statement, parameters, **kwargs)


def _finish_now(coro: Coroutine[Any, Any, T]) -> T:
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise _WouldSuspend


async def write_now(core: Core, fn: Callable[[Unit], Awaitable[T]]) -> T:
    """Run ``fn(unit)`` in one write transaction; on SQLite as one work of the group writer.

    Core code awaits the database statement by statement. On SQLite each await is a round
    trip through the event loop to the driver's thread, made while the one write lock is
    held, so under load a three-statement claim holds the lock for many turns of a busy
    loop and every other writer queues behind it. As a work of the group writer the same
    statements run back to back on the writer's connection, in its thread, and share its
    COMMIT; after-commit hooks run once it has committed, as with a unit. Code that waits
    for anything but the database (a listener doing I/O) is rolled back and run again in
    an ordinary unit, so the result is the same either way. PostgreSQL takes concurrent
    writers, so there it simply gets a unit.
    """
    if core.db.is_sqlite:
        hooks: list[Callable[[], None]] = []

        def work(conn: Connection) -> T:
            unit = Unit(conn=_ConnectionNow(conn), core=core)  # type: ignore[arg-type]
            result = _finish_now(fn(unit))  # type: ignore[arg-type]
            hooks.extend(unit._after)
            return result

        try:
            result = await core.db.writer.run(work)
        except _WouldSuspend:
            pass
        else:
            for hook in hooks:
                hook()
            return result
    async with core.unit() as unit:
        return await fn(unit)
