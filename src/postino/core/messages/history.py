"""Message history: filter, count and page an account's messages (outgoing and incoming).

Everything is filtered in SQL and paged with limit/offset so an account with a million
messages answers as fast as one with ten; ``count`` is one aggregate over the same
filter. Messages of a campaign carry the campaign's id, title and body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, and_, false, func, or_, select, type_coerce

from ...db.tables import campaigns, messages
from ...db.types import UTCDateTime
from ..service import Unit

MAX_PAGE = 10_000


@dataclass(frozen=True)
class StateMatch:
    """One state, optionally narrowed by failure reason (``failed`` + ``no_service``)."""

    state: str
    reasons: tuple[str, ...] | None = None
    not_reasons: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Filter:
    """What to list; ``None`` means 'any'. ``states=[]`` matches nothing."""

    device_id: int | None = None
    states: Sequence[StateMatch] | None = None
    slot: int | None = None
    customer_id: str | None = None
    phone: str | None = None
    """E.164; the other party (``recipient`` holds it for outgoing and incoming messages alike)."""
    created_from: datetime | None = None
    created_before: datetime | None = None


@dataclass(frozen=True)
class Page:
    total: int
    rows: list[Any]


def _state_clause(match: StateMatch) -> Any:
    clause = messages.c.state == match.state
    if match.reasons is not None:
        clause = and_(clause, messages.c.reason.in_(match.reasons))
    if match.not_reasons is not None:
        clause = and_(clause, or_(messages.c.reason.is_(None), messages.c.reason.not_in(match.not_reasons)))
    return clause


def _states_clauses(matches: Sequence[StateMatch]) -> list[Any]:
    """``state IN (…)``, then the failure reasons where a match names them.

    The ``IN`` is implied by the matches but written out: it is what lets a state index
    seek each state (SQLite's planner then picks ``ix_messages_account_state_history``
    even on a database that was never ANALYZEd), and the reasons are read from that
    index too.
    """
    states = sorted({m.state for m in matches})
    clauses: list[Any] = [messages.c.state.in_(states)]
    if any(m.reasons is not None or m.not_reasons is not None for m in matches):
        clauses.append(or_(*[_state_clause(m) for m in matches]))
    return clauses


def _where(account_id: int, flt: Filter) -> list[Any]:
    where: list[Any] = [messages.c.account_id == account_id]
    if flt.device_id is not None:
        where.append(messages.c.device_id == flt.device_id)
    if flt.states is not None:
        where.extend(_states_clauses(flt.states) if flt.states else [false()])
    if flt.slot is not None:
        where.append(messages.c.slot == flt.slot)
    if flt.customer_id is not None:
        where.append(messages.c.customer_id == flt.customer_id)
    if flt.phone is not None:
        where.append(messages.c.recipient == flt.phone)
    if flt.created_from is not None:
        where.append(messages.c.created_at >= flt.created_from)
    if flt.created_before is not None:
        where.append(messages.c.created_at < flt.created_before)
    return where


def _order(columns: Any, newest_first: bool) -> tuple[Any, Any]:
    """Creation order, the id breaking ties.

    Every history index ends with ``created_at`` (and, implicitly, the row id), so the rows
    come out of the filter's index already in this order and a page stops at its limit.
    """
    if newest_first:
        return columns.created_at.desc(), columns.id.desc()
    return columns.created_at.asc(), columns.id.asc()


# A campaign opens a batch of its own, so this join adds at most one row per message and
# LIMIT/OFFSET page messages, not join rows; ``ix_campaigns_batch`` serves the lookup.
_WITH_CAMPAIGN = messages.outerjoin(campaigns, campaigns.c.batch_id == messages.c.batch_id)
_CAMPAIGN_COLUMNS = (
    campaigns.c.id.label("campaign_id"),
    campaigns.c.title.label("campaign_title"),
    campaigns.c.body.label("campaign_body"),
)


async def _count(unit: Unit, where: list[Any]) -> int:
    stmt = select(func.count()).select_from(messages).where(*where)
    return int(await unit.conn.scalar(stmt) or 0)


async def count(unit: Unit, account_id: int, flt: Filter) -> int:
    """How many messages match (one aggregate query, answered from an index where it covers the filter)."""
    return await _count(unit, _where(account_id, flt))


async def search(
    unit: Unit,
    account_id: int,
    flt: Filter,
    *,
    newest_first: bool = False,
    limit: int = 1000,
    offset: int = 0,
    columns: Sequence[str] | None = None,
    naive_times: bool = False,
) -> Page:
    """One page of matching messages with their campaign (``campaign_id/_title/_body``).

    ``columns`` names the message columns wanted (all by default): on a page of a thousand
    rows, converting columns nobody reads costs more than finding the rows. With
    ``naive_times`` the message's times come back naive UTC, as stored, without a Python
    call per value to make them aware; for callers that convert every time anyway.

    One flat query, no subquery: the filter's index walks the rows in creation order and
    stops at the page's end, and there is no second sort after the campaign join. A first
    page shorter than ``limit`` holds every match, so its length is the total and the
    count query is skipped.
    """
    limit = max(0, min(limit, MAX_PAGE))
    where = _where(account_id, flt)
    if offset == 0 and limit > 0:
        rows = await _page(unit, where, newest_first, limit, 0, columns, naive_times)
        total = len(rows) if len(rows) < limit else await _count(unit, where)
        return Page(total, rows)
    total = await _count(unit, where)
    if limit == 0 or offset >= total:
        return Page(total, [])
    return Page(total, await _page(unit, where, newest_first, limit, offset, columns, naive_times))


async def _page(
    unit: Unit,
    where: list[Any],
    newest_first: bool,
    limit: int,
    offset: int,
    columns: Sequence[str] | None,
    naive_times: bool,
) -> list[Any]:
    picked = list(messages.c) if columns is None else [messages.c[name] for name in columns]
    if naive_times:
        picked = [_naive(column) if isinstance(column.type, UTCDateTime) else column for column in picked]
    stmt = (
        select(*picked, *_CAMPAIGN_COLUMNS)
        .select_from(_WITH_CAMPAIGN)
        .where(*where)
        .order_by(*_order(messages.c, newest_first))
        .limit(limit)
        .offset(offset)
    )
    return list((await unit.conn.execute(stmt)).all())


def _naive(column: Any) -> Any:
    """The column read as a plain ``DateTime`` (naive UTC), under its own name."""
    return type_coerce(column, DateTime()).label(column.name)


@dataclass(frozen=True)
class LogEntry:
    """One state change of one of the account's messages, as an activity log shows it."""

    id: int
    message_id: int
    state: str
    at: datetime
    detail: str | None
    device_id: int | None
    direction: str
    reason: str | None


async def event_log(
    unit: Unit, account_id: int, *, since: datetime | None = None, until: datetime | None = None, limit: int = 1000
) -> list[LogEntry]:
    """The account's message events (what its phones and connectors did), newest first."""
    from ...db.tables import message_events

    stmt = (
        select(
            message_events.c.id, message_events.c.message_id, message_events.c.state, message_events.c.at,
            message_events.c.detail, messages.c.device_id, messages.c.direction, messages.c.reason,
        )
        .select_from(message_events.join(messages, messages.c.id == message_events.c.message_id))
        .where(messages.c.account_id == account_id)
    )
    if since is not None:
        stmt = stmt.where(message_events.c.at >= since)
    if until is not None:
        stmt = stmt.where(message_events.c.at < until)
    rows = (await unit.conn.execute(stmt.order_by(message_events.c.id.desc()).limit(max(1, min(limit, MAX_PAGE))))).all()
    return [LogEntry(*r) for r in rows]
