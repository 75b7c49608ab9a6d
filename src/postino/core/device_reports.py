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

from ..db.tables import messages
from . import lifecycle
from .clock import utcnow
from .devices import Device
from .service import Unit

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


async def apply(unit: Unit, device: Device, reports: list[Report]) -> list[lifecycle.Moved]:
    """Move each reported message of ``device``; unknown or foreign ids change nothing."""
    now = utcnow()
    mine = messages.c.device_id == device.id
    moved: list[lifecycle.Moved] = []
    # In id order: concurrent transactions then lock rows in one order and cannot deadlock.
    for report in sorted(reports, key=lambda r: r.message_id):
        if report.state not in PHONE_STATES or PHONE_STATES[report.state] is None:
            continue
        steps: list[str] = []
        if report.state in STEP_ORDER:
            upto = STEP_ORDER.index(report.state)
            steps = [s for s in STEP_ORDER[:upto] if s in report.times] + [report.state]
        elif report.state == "Failed":
            steps = [s for s in STEP_ORDER[:2] if s in report.times] + ["Failed"]
        else:
            steps = [report.state]
        for step in steps:
            target = PHONE_STATES[step]
            assert target is not None
            at = _clamp(report.times.get(step), now)
            if target == lifecycle.FAILED:
                error = (report.error or "")[:500] or None
                moved += await lifecycle.move(
                    unit, [report.message_id], target, reason=failure_reason(error), error=error or "failed",
                    at=at, extra_where=mine,
                )
            elif target == lifecycle.CANCELED:
                moved += await lifecycle.move(
                    unit, [report.message_id], target, reason="canceled", at=at, detail="canceled by the phone",
                    extra_where=mine,
                )
            else:
                moved += await lifecycle.move(unit, [report.message_id], target, at=at, extra_where=mine)
    return moved
