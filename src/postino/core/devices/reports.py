"""What a phone reports about the messages it holds, turned into lifecycle moves.

The phone speaks in its own states (``Processed``, ``Sent``, ``Delivered``, ``Failed``,
``Cancelled``); each maps to one canonical state. A report may carry the time of every
step it went through, so a phone that only says "Delivered" after a reconnect still
leaves ``taken``, ``sent`` and ``delivered`` in the events table, in order. A phone can
only move messages that were routed to it: any other id is silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update

from ...db.tables import message_events, messages
from ..clock import utcnow
from ..messages import lifecycle
from ..service import Unit
from .devices import Device

PHONE_STATES: dict[str, str | None] = {
    "Pending": None,
    "Processed": lifecycle.TAKEN,
    "Sent": lifecycle.SENT,
    "Delivered": lifecycle.DELIVERED,
    "Failed": lifecycle.FAILED,
    "Cancelled": lifecycle.CANCELED,
}
STEP_ORDER = ("Processed", "Sent", "Delivered")
"""The steps of a successful send, in the order they happen."""

_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"NO_SERVICE|no service", re.I), "no_service"),
    (re.compile(r"NULL_PDU|null pdu", re.I), "null_pdu"),
    (re.compile(r"RADIO_OFF|radio off|airplane", re.I), "radio_off"),
    (re.compile(r"not allowed|NOT_ALLOWED|permission|SHORT_CODE_NEVER_ALLOWED|denied", re.I), "not_allowed"),
)


def failure_reason(error: str | None) -> str:
    """The canonical reason an Android send error names (``RESULT_ERROR_NO_SERVICE`` -> ``no_service``)."""
    for pattern, reason in _REASONS:
        if error and pattern.search(error):
            return reason
    return "generic"


@dataclass
class Report:
    """One message's report, already parsed by the device API."""

    message_id: int
    state: str
    error: str | None = None
    times: dict[str, datetime] = field(default_factory=dict)


def _clamp(at: datetime | None, now: datetime) -> datetime:
    """A phone's clock is not ours: never in the future, never absurdly old."""
    if at is None or at > now or at < now - timedelta(days=7):
        return now
    return at


@dataclass
class _Step:
    """One move a report asks for: a message, the state it reaches, when, and why (failures)."""

    message_id: int
    at: datetime
    reason: str | None = None
    error: str | None = None
    detail: str | None = None


MOVE_ORDER = (lifecycle.TAKEN, lifecycle.SENT, lifecycle.DELIVERED, lifecycle.FAILED, lifecycle.CANCELED)
"""Targets in the order they are applied: every chain of a message's moves follows it."""
CHUNK = 500
_MOVED_COLUMNS = (
    messages.c.id, messages.c.state, messages.c.account_id, messages.c.batch_id, messages.c.device_id,
    messages.c.reason, messages.c.price, messages.c.product, messages.c.extra,
)


def _steps(report: Report) -> list[str]:
    """The phone states a report walks through, earlier steps first when their times are given."""
    if report.state in STEP_ORDER:
        upto = STEP_ORDER.index(report.state)
        return [s for s in STEP_ORDER[:upto] if s in report.times] + [report.state]
    if report.state == "Failed":
        return [s for s in STEP_ORDER[:2] if s in report.times] + ["Failed"]
    return [report.state]


@lru_cache(maxsize=2)
def _read_statement(lock: bool) -> Any:
    """The reported messages of one device with what a move tells its listeners, built once."""
    stmt = (
        select(*_MOVED_COLUMNS)
        .where(messages.c.id.in_(bindparam("ids", expanding=True)), messages.c.device_id == bindparam("device_id"))
        .order_by(messages.c.id)
    )
    return stmt.with_for_update() if lock else stmt


@lru_cache(maxsize=len(MOVE_ORDER))
def _move_statement(target: str) -> Any:
    """``lifecycle.move``'s UPDATE for one message, with its own time (and error), built once."""
    at = bindparam("b_at", type_=messages.c.updated_at.type)
    values: dict[str, Any] = {"state": target, "updated_at": at}
    if target in lifecycle.TIME_COLUMN:
        values[lifecycle.TIME_COLUMN[target]] = at
    if target in (lifecycle.FAILED, lifecycle.CANCELED):
        values["reason"] = bindparam("b_reason", type_=messages.c.reason.type)
    if target == lifecycle.FAILED:
        values["error"] = bindparam("b_error", type_=messages.c.error.type)
    if target != lifecycle.TAKEN:
        values["lease_until"] = None
    return (
        update(messages)
        .where(
            messages.c.id == bindparam("b_id"),
            # equalities, not IN: an IN list is expanded per execution, which executemany refuses
            or_(*(messages.c.state == state for state in sorted(lifecycle.ALLOWED_FROM[target]))),
            messages.c.device_id == bindparam("b_device"),
        )
        .values(**values)
    )


async def _current(unit: Unit, device_id: int, ids: list[int]) -> dict[int, Any]:
    """Each reported message of this device as it is now, locked until the transaction ends.

    SQLite's write transaction already excludes every other writer; PostgreSQL locks the rows
    in id order, so two reports of one phone never deadlock. Either way what is read here
    stays true until the moves below, so they can be planned from it.
    """
    found: dict[int, Any] = {}
    stmt = _read_statement(unit.is_postgres)
    for start in range(0, len(ids), CHUNK):
        rows = await unit.conn.execute(stmt, {"ids": ids[start : start + CHUNK], "device_id": device_id})
        found.update((r.id, r) for r in rows.all())
    return found


async def apply(unit: Unit, device: Device, reports: list[Report]) -> list[lifecycle.Moved]:
    """Move each reported message of ``device``; unknown or foreign ids change nothing.

    A phone reports many messages at once. Each message's reports are walked in the order
    the phone sent them, as the lifecycle allows from its current state (a late or repeated
    report moves nothing); then the messages reaching one state move together (one batch of
    updates, one of events, one call of the lifecycle listeners), each with its own time.
    """
    now = utcnow()
    wanted = [r for r in reports if PHONE_STATES.get(r.state) is not None]
    if not wanted:
        return []
    rows = await _current(unit, device.id, sorted({r.message_id for r in wanted}))
    states = {mid: row.state for mid, row in rows.items()}
    plan: dict[str, dict[int, _Step]] = {target: {} for target in MOVE_ORDER}
    for report in wanted:
        state = states.get(report.message_id)
        if state is None:
            continue  # not this device's message
        for step in _steps(report):
            target = PHONE_STATES[step]
            assert target is not None
            if not lifecycle.can_move(state, target):
                continue
            at = _clamp(report.times.get(step), now)
            if target == lifecycle.FAILED:
                error = (report.error or "")[:500] or None
                plan[target][report.message_id] = _Step(
                    report.message_id, at, failure_reason(error), error or "failed", error or "failed"
                )
            elif target == lifecycle.CANCELED:
                plan[target][report.message_id] = _Step(
                    report.message_id, at, "canceled", detail="canceled by the phone"
                )
            else:
                plan[target][report.message_id] = _Step(report.message_id, at)
            state = target
        states[report.message_id] = state
    moved: list[lifecycle.Moved] = []
    for target in MOVE_ORDER:
        steps = list(plan[target].values())
        if steps:
            moved += await _move_all(unit, device.id, target, steps, rows)
    return moved


async def _move_all(
    unit: Unit, device_id: int, target: str, steps: list[_Step], rows: dict[int, Any]
) -> list[lifecycle.Moved]:
    """``lifecycle.move`` for many messages at once, each with its own time (and error)."""
    result = await unit.conn.execute(
        _move_statement(target),
        [
            {"b_id": s.message_id, "b_device": device_id, "b_at": s.at, "b_reason": s.reason, "b_error": s.error}
            for s in steps
        ],
    )
    if result.rowcount is not None and 0 <= result.rowcount != len(steps):
        # The rows are locked and were read in this transaction: a difference means that
        # assumption broke. Undo the report rather than record moves that did not happen.
        raise RuntimeError(f"phone report: {result.rowcount} of {len(steps)} messages moved")
    moved = []
    for s in steps:
        row = rows[s.message_id]
        reason = s.reason if target in (lifecycle.FAILED, lifecycle.CANCELED) else row.reason
        moved.append(lifecycle.Moved(s.message_id, row.account_id, row.batch_id, row.device_id, target, reason,
                                     row.price, row.product, row.extra, s.at))
    await unit.conn.execute(
        insert(message_events),
        [{"message_id": s.message_id, "state": target, "at": s.at, "detail": s.detail} for s in steps],
    )
    await lifecycle.announce(unit, moved)
    return moved
