"""The dashboard's message list: every filter a person types, paged by keyset.

``history`` pages with offsets for the provider APIs that ask for page numbers; a person
scrolling a busy account needs pages that cost the same at any depth, so this listing
pages by id (newest first, ``before`` the last id shown). It also holds what a message's
own page shows (its state changes in order) and the per-day counts of the overview chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select

from ...db.tables import campaigns, contacts, message_events, messages
from ..service import Unit
from . import messages as messages_mod

MAX_PAGE = 200
MAX_TEXT = 200


@dataclass(frozen=True)
class Filter:
    """What to list; ``None`` is 'any'. ``number`` matches digits of the other party, ``text`` the body."""

    state: str | None = None
    channel: str | None = None
    direction: str | None = None
    device_id: int | None = None
    connector_id: int | None = None
    campaign_id: int | None = None
    list_id: int | None = None
    """Messages to (or from) a number of this contact list."""
    created_from: datetime | None = None
    created_before: datetime | None = None
    number: str | None = None
    text: str | None = None


def _where(account_id: int, flt: Filter) -> list[Any]:
    where: list[Any] = [messages.c.account_id == account_id]
    if flt.state:
        where.append(messages.c.state == flt.state)
    if flt.channel:
        where.append(messages.c.channel == flt.channel)
    if flt.direction:
        where.append(messages.c.direction == flt.direction)
    if flt.device_id is not None:
        where.append(messages.c.device_id == flt.device_id)
    if flt.connector_id is not None:
        where.append(messages.c.connector_id == flt.connector_id)
    if flt.campaign_id is not None:
        # The campaign's batch, looked up inside the account: another account's id names nothing.
        batch = (
            select(campaigns.c.batch_id)
            .where(campaigns.c.id == flt.campaign_id, campaigns.c.account_id == account_id)
            .scalar_subquery()
        )
        where.append(messages.c.batch_id == batch)
    if flt.list_id is not None:
        numbers = select(contacts.c.phone).where(contacts.c.tag_id == flt.list_id, contacts.c.account_id == account_id)
        where.append(messages.c.recipient.in_(numbers))
    if flt.created_from is not None:
        where.append(messages.c.created_at >= flt.created_from)
    if flt.created_before is not None:
        where.append(messages.c.created_at < flt.created_before)
    digits = "".join(ch for ch in (flt.number or "") if ch.isdigit())
    if digits:
        where.append(messages.c.recipient.contains(digits, autoescape=True))
    text = (flt.text or "").strip()[:MAX_TEXT]
    if text:
        where.append(func.lower(messages.c.body).contains(text.lower(), autoescape=True))
    return where


async def page(
    unit: Unit, account_id: int, flt: Filter, *, before: int | None = None, limit: int = 50
) -> tuple[list[Any], int | None]:
    """Matching messages with ids below ``before`` (None: the newest), and the cursor of the next page."""
    limit = max(1, min(limit, MAX_PAGE))
    where = _where(account_id, flt)
    if before is not None:
        where.append(messages.c.id < before)
    rows = (await unit.conn.execute(select(messages).where(*where).order_by(messages.c.id.desc()).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return list(rows), (rows[-1].id if more else None)


@dataclass(frozen=True)
class Step:
    state: str
    at: datetime
    detail: str | None


async def timeline(unit: Unit, account_id: int, message_id: int) -> tuple[Any, list[Step]]:
    """The account's message (``NotFound`` for another account's id) and every state change it made, in order."""
    row = await messages_mod.get(unit, account_id, message_id)
    steps = (
        await unit.conn.execute(
            select(message_events.c.state, message_events.c.at, message_events.c.detail)
            .where(message_events.c.message_id == message_id)
            .order_by(message_events.c.id)
        )
    ).all()
    return row, [Step(s.state, s.at, s.detail) for s in steps]


async def counts_by_day(
    unit: Unit, account_id: int, days: Sequence[tuple[datetime, datetime]]
) -> list[dict[str, int]]:
    """For each ``[start, end)`` span (days in the account's time zone), its outgoing messages by state.

    One query: each row is given the index of its span by a ``CASE``, so the engines need
    no date functions of their own (SQLite and PostgreSQL have different ones) and the
    spans may start at any hour a time zone puts midnight at.
    """
    if not days:
        return []
    bucket = case(
        *[((messages.c.created_at >= start) & (messages.c.created_at < end), index) for index, (start, end) in enumerate(days)],
        else_=-1,
    )
    stmt = (
        select(bucket.label("day"), messages.c.state, func.count())
        .where(
            messages.c.account_id == account_id,
            messages.c.direction == "out",
            messages.c.created_at >= days[0][0],
            messages.c.created_at < days[-1][1],
        )
        .group_by(bucket, messages.c.state)
    )
    found: list[dict[str, int]] = [{} for _ in days]
    for day, state, number in (await unit.conn.execute(stmt)).all():
        if 0 <= int(day) < len(days):
            found[int(day)][state] = int(number)
    return found
