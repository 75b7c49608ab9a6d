"""The one status lifecycle: states, which moves are allowed, and the move itself.

Every move is a conditional UPDATE (only rows in a state the target may follow) plus one
event row per moved message, in the caller's transaction. Moves are monotonic: a late
"sent" after "delivered" finds no row to move and changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update

from ...db.tables import message_events, messages
from ..clock import utcnow
from ..service import Unit

DRAFT = "draft"
SCHEDULED = "scheduled"
QUEUED = "queued"
ASSIGNED = "assigned"
TAKEN = "taken"
SENT = "sent"
DELIVERED = "delivered"
READ = "read"
UNDELIVERED = "undelivered"
FAILED = "failed"
EXPIRED = "expired"
CANCELED = "canceled"
RECEIVED = "received"

STATES = (
    DRAFT, SCHEDULED, QUEUED, ASSIGNED, TAKEN, SENT, DELIVERED, READ,
    UNDELIVERED, FAILED, EXPIRED, CANCELED, RECEIVED,
)  # fmt: skip

PENDING = frozenset({DRAFT, SCHEDULED, QUEUED, ASSIGNED})
"""Not yet taken by any phone or connector: still cancellable, still expirable."""
FINAL = frozenset({READ, UNDELIVERED, FAILED, EXPIRED, CANCELED, RECEIVED})
FAILURES = frozenset({UNDELIVERED, FAILED, EXPIRED})

# target state -> the states it may follow
ALLOWED_FROM: dict[str, frozenset[str]] = {
    SCHEDULED: frozenset({DRAFT, QUEUED}),  # queued -> scheduled: a send time moved later
    QUEUED: frozenset({DRAFT, SCHEDULED, ASSIGNED}),
    ASSIGNED: frozenset({QUEUED}),
    TAKEN: frozenset({QUEUED, ASSIGNED}),
    SENT: frozenset({QUEUED, ASSIGNED, TAKEN}),
    DELIVERED: frozenset({QUEUED, ASSIGNED, TAKEN, SENT}),
    READ: frozenset({QUEUED, ASSIGNED, TAKEN, SENT, DELIVERED}),
    UNDELIVERED: frozenset({QUEUED, ASSIGNED, TAKEN, SENT}),
    FAILED: frozenset({QUEUED, ASSIGNED, TAKEN, SENT}),
    EXPIRED: frozenset({DRAFT, SCHEDULED, QUEUED, ASSIGNED, TAKEN}),
    CANCELED: frozenset({DRAFT, SCHEDULED, QUEUED, ASSIGNED, TAKEN}),
}

REASONS = (
    "generic", "no_service", "null_pdu", "radio_off", "not_allowed", "rejected",
    "invalid_destination", "throttled_out", "timeout", "window_closed",
)  # fmt: skip

TIME_COLUMN = {SENT: "sent_at", DELIVERED: "delivered_at", READ: "read_at"}
"""The column that keeps when a message reached the state, where there is one."""


@dataclass(frozen=True)
class Moved:
    """One message that changed state, with what listeners need to act on it."""

    id: int
    account_id: int
    batch_id: int | None
    device_id: int | None
    state: str
    reason: str | None
    price: Any
    product: str
    extra: dict | None
    at: datetime


Listener = Callable[[Unit, list[Moved]], Awaitable[None]]
"""A transition listener (``Core.listeners.transition``): runs inside the transaction of every move."""


def can_move(current: str, target: str) -> bool:
    return current in ALLOWED_FROM.get(target, frozenset())


async def move(
    unit: Unit,
    ids: Iterable[int],
    target: str,
    *,
    reason: str | None = None,
    error: str | None = None,
    at: datetime | None = None,
    detail: str | None = None,
    only_from: Sequence[str] | None = None,
    extra_where: Any = None,
    values: dict | None = None,
) -> list[Moved]:
    """Move the given messages to ``target`` where the lifecycle allows it.

    Returns the messages that moved; ids that are unknown or already past ``target``
    are silently left alone (a late or duplicate report).
    """
    id_list = list(dict.fromkeys(ids))
    if not id_list:
        return []
    allowed = ALLOWED_FROM[target]
    if only_from is not None:
        allowed = allowed & frozenset(only_from)
    now = at or utcnow()
    new_values: dict[str, Any] = {"state": target, "updated_at": now, **(values or {})}
    if target in TIME_COLUMN:
        new_values[TIME_COLUMN[target]] = now
    if target in (FAILED, UNDELIVERED, EXPIRED, CANCELED):
        new_values["reason"] = reason or ("generic" if target == FAILED else target)
        if error is not None:
            new_values["error"] = error[:500]
    if target not in (ASSIGNED, TAKEN):
        new_values.setdefault("lease_until", None)
    moved: list[Moved] = []
    for start in range(0, len(id_list), 500):
        chunk = id_list[start : start + 500]
        stmt = update(messages).where(messages.c.id.in_(chunk), messages.c.state.in_(sorted(allowed)))
        if extra_where is not None:
            stmt = stmt.where(extra_where)
        rows = (
            await unit.conn.execute(
                stmt.values(**new_values).returning(
                    messages.c.id,
                    messages.c.account_id,
                    messages.c.batch_id,
                    messages.c.device_id,
                    messages.c.reason,
                    messages.c.price,
                    messages.c.product,
                    messages.c.extra,
                )
            )
        ).all()
        moved.extend(
            Moved(r.id, r.account_id, r.batch_id, r.device_id, target, r.reason, r.price, r.product, r.extra, now)
            for r in rows
        )
    if moved:
        await record_events(unit, [(m.id, target) for m in moved], at=now, detail=detail or error)
        await announce(unit, moved)
    return moved


async def announce(unit: Unit, moved: list[Moved]) -> None:
    """Run every transition listener for moves already written (by ``move`` or a batch of its own)."""
    for fn in unit.core.listeners.transition:
        await fn(unit, moved)


async def record_events(
    unit: Unit, pairs: Sequence[tuple[int, str]], *, at: datetime, detail: str | None = None
) -> None:
    """Write one event row per (message id, state)."""
    if pairs:
        await unit.conn.execute(
            insert(message_events),
            [{"message_id": mid, "state": state, "at": at, "detail": detail} for mid, state in pairs],
        )
