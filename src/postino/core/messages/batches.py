"""Batches: the messages one request created, looked up and changed as one.

A dialect that gives a request one public id (a MessaggiSMS message, a campaign) finds,
lists, counts, reschedules and cancels its messages through here, so every query about
a group of messages lives in core.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select, update

from ...db.tables import batches, messages
from ..accounts.accounts import Account
from ..clock import utcnow
from ..errors import Conflict
from ..service import Unit
from . import lifecycle
from . import messages as messages_mod


@dataclass(frozen=True)
class Group:
    """How many messages of a batch are in one state with one segment count, and what they cost."""

    state: str
    segments: int
    count: int
    price: Decimal
    last_update: datetime | None


async def by_public_id(unit: Unit, account_id: int, kind: str, public_id: str) -> Any:
    """The account's batch with this public id, or None (also for another account's id)."""
    return (
        await unit.conn.execute(
            select(batches).where(
                batches.c.public_id == public_id, batches.c.account_id == account_id, batches.c.kind == kind
            )
        )
    ).one_or_none()


async def by_ids(unit: Unit, batch_ids: list[int]) -> dict[int, Any]:
    if not batch_ids:
        return {}
    rows = (await unit.conn.execute(select(batches).where(batches.c.id.in_(batch_ids)))).all()
    return {r.id: r for r in rows}


async def page(unit: Unit, account_id: int, kind: str, *, offset: int, limit: int) -> list[Any]:
    """The account's batches of ``kind``, newest first."""
    return list(
        (
            await unit.conn.execute(
                select(batches)
                .where(batches.c.account_id == account_id, batches.c.kind == kind)
                .order_by(batches.c.id.desc())
                .offset(offset)
                .limit(limit)
            )
        ).all()
    )


async def change(unit: Unit, batch_id: int, *, data: dict | None = None, state: str | None = None) -> None:
    """Replace the batch's ``data`` and/or ``state``; ``updated_at`` follows."""
    values: dict[str, Any] = {"updated_at": utcnow()}
    if data is not None:
        values["data"] = data
    if state is not None:
        values["state"] = state
    await unit.conn.execute(update(batches).where(batches.c.id == batch_id).values(**values))


async def groups(unit: Unit, batch_id: int) -> list[Group]:
    """Counts per (state, segments): enough for statistics and prices without loading rows."""
    rows = (
        await unit.conn.execute(
            select(
                messages.c.state,
                messages.c.segments,
                func.count(),
                func.sum(messages.c.price),
                func.max(messages.c.updated_at),
            )
            .where(messages.c.batch_id == batch_id)
            .group_by(messages.c.state, messages.c.segments)
        )
    ).all()
    # SUM and MAX keep their column's type, so money and times come back converted.
    return [
        Group(state=r[0], segments=int(r[1]), count=int(r[2]), price=r[3] or Decimal("0.0000"), last_update=r[4])
        for r in rows
    ]


async def count_messages(unit: Unit, batch_id: int) -> int:
    return int(await unit.conn.scalar(select(func.count()).where(messages.c.batch_id == batch_id)) or 0)


async def messages_page(unit: Unit, account_id: int, batch_id: int, *, offset: int, limit: int) -> list[Any]:
    """The batch's messages in the order they were given."""
    return list(
        (
            await unit.conn.execute(
                select(messages)
                .where(messages.c.batch_id == batch_id, messages.c.account_id == account_id)
                .order_by(messages.c.seq, messages.c.id)
                .offset(offset)
                .limit(limit)
            )
        ).all()
    )


async def messages_to(unit: Unit, account_id: int, batch_id: int, numbers: list[str]) -> list[Any]:
    """The batch's messages to any of ``numbers`` (as the user wrote them, or normalised)."""
    return list(
        (
            await unit.conn.execute(
                select(messages)
                .where(
                    messages.c.batch_id == batch_id,
                    messages.c.account_id == account_id,
                    or_(messages.c.recipient_raw.in_(numbers), messages.c.recipient.in_(numbers)),
                )
                .order_by(messages.c.seq, messages.c.id)
            )
        ).all()
    )


async def messages_by_ids(unit: Unit, ids: list[int]) -> list[Any]:
    if not ids:
        return []
    return list(
        (await unit.conn.execute(select(messages).where(messages.c.id.in_(ids)).order_by(messages.c.seq))).all()
    )


async def set_draft_options(
    unit: Unit, batch_id: int, *, urgent: bool, due_at: datetime | None, extra: dict | None
) -> None:
    """Options changed while a batch was still open apply to all its drafts."""
    await unit.conn.execute(
        update(messages)
        .where(messages.c.batch_id == batch_id, messages.c.state == lifecycle.DRAFT)
        .values(urgent=urgent, due_at=due_at, extra=extra, updated_at=utcnow())
    )


async def _states(unit: Unit, batch_id: int) -> dict[str, list[int]]:
    rows = (await unit.conn.execute(select(messages.c.id, messages.c.state).where(messages.c.batch_id == batch_id))).all()
    found: dict[str, list[int]] = {}
    for r in rows:
        found.setdefault(r.state, []).append(r.id)
    return found


async def reschedule(unit: Unit, batch_id: int, due_at: datetime | None) -> None:
    """Move the batch's send time while none of it has been handed to a phone or connector.

    Queued messages given a future time go back to ``scheduled``; scheduled ones given a
    time now or past are due at the scheduler's next tick. ``Conflict`` (and nothing
    changed, the caller's transaction rolls back) once any message has left the queue.
    """
    now = utcnow()
    by_state = await _states(unit, batch_id)
    if set(by_state) - {lifecycle.DRAFT, lifecycle.SCHEDULED, lifecycle.QUEUED}:
        raise Conflict("Message already handed for sending")
    future = due_at is not None and due_at > now
    waiting = by_state.get(lifecycle.DRAFT, []) + by_state.get(lifecycle.SCHEDULED, [])
    if waiting:
        await unit.conn.execute(
            update(messages)
            .where(messages.c.id.in_(waiting), messages.c.state.in_((lifecycle.DRAFT, lifecycle.SCHEDULED)))
            .values(due_at=due_at if future else (now if due_at is not None else None), updated_at=now)
        )
    queued = by_state.get(lifecycle.QUEUED, [])
    if future and queued:
        moved = await lifecycle.move(
            unit, queued, lifecycle.SCHEDULED, only_from=[lifecycle.QUEUED], values={"due_at": due_at}
        )
        if len(moved) != len(queued):
            raise Conflict("Message already handed for sending")


async def cancel(unit: Unit, account_id: int, batch_id: int, *, before_handover: bool = False) -> int:
    """Cancel every message of the batch, or none: ``Conflict`` once any has been taken.

    ``before_handover``: also ``Conflict`` once any has been handed to a phone or connector
    (``assigned``), for APIs that promise a delete only before that (MessaggiSMS).
    """
    by_state = await _states(unit, batch_id)
    cancellable = lifecycle.PENDING - {lifecycle.ASSIGNED} if before_handover else lifecycle.PENDING
    if set(by_state) - cancellable - {lifecycle.CANCELED}:
        raise Conflict("message already scheduled for sending")
    pending = [i for state, ids in by_state.items() if state in cancellable for i in ids]
    moved = await messages_mod.cancel(unit, account_id, pending)
    if len(moved) != len(pending):
        raise Conflict("message already scheduled for sending")
    return len(moved)


def sms_price(account: Account, parts: int, priority: float = 1.0) -> Decimal:
    """What ``messages.price_of`` charges for an SMS of ``parts`` parts at ``priority``."""
    return (account.price("sms_segment") * parts * Decimal(str(priority))).quantize(Decimal("0.0001"))
