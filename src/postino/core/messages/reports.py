"""Delivery reports pushed to a URL a message carries (a provider's "push callback").

A dialect that promises push reports stamps the message at acceptance with
``extra["report_url"]`` and ``extra["report_format"]`` and registers a formatter for that
format; on every visible state change this listener writes one outbox row in the same
transaction, so the report exists exactly when the state does. Core stays unaware of
the shape: the formatter (a dialect's) renders the payload from the message row.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ...db.tables import messages
from ..events import outbox
from ..service import Unit
from . import lifecycle

Formatter = Callable[[Any, str, datetime], dict]
"""(message row, new state, when) -> the JSON payload."""

REPORTED = frozenset(
    {lifecycle.SENT, lifecycle.DELIVERED, lifecycle.READ, lifecycle.UNDELIVERED, lifecycle.FAILED,
     lifecycle.EXPIRED, lifecycle.CANCELED}
)  # fmt: skip
EVENT = "message.report"

_formatters: dict[str, Formatter] = {}


def register_format(name: str, fn: Formatter) -> None:
    _formatters[name] = fn


async def push_reports(unit: Unit, moved: list[lifecycle.Moved]) -> None:
    wanted = [
        m for m in moved
        if m.state in REPORTED and (m.extra or {}).get("report_url") and (m.extra or {}).get("report_format") in _formatters
    ]  # fmt: skip
    if not wanted:
        return
    rows = {
        r.id: r
        for r in (await unit.conn.execute(select(messages).where(messages.c.id.in_([m.id for m in wanted])))).all()
    }
    for m in wanted:
        row = rows.get(m.id)
        if row is None:
            continue
        extra = m.extra or {}
        await outbox.enqueue(
            unit,
            account_id=m.account_id,
            event=EVENT,
            url=extra["report_url"],
            payload=_formatters[extra["report_format"]](row, m.state, m.at),
            message_id=m.id,
            order_key=f"r{m.id}",
        )
