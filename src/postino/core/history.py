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

from sqlalchemy import and_, false, func, or_, select

from ..db.tables import campaigns, messages
from .service import Unit

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


def _where(account_id: int, flt: Filter) -> list[Any]:
    where: list[Any] = [messages.c.account_id == account_id]
    if flt.device_id is not None:
        where.append(messages.c.device_id == flt.device_id)
    if flt.states is not None:
        where.append(or_(*[_state_clause(m) for m in flt.states]) if flt.states else false())
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
    """Creation order, the id breaking ties (served by ``ix_messages_account_created``)."""
    if newest_first:
        return columns.created_at.desc(), columns.id.desc()
    return columns.created_at.asc(), columns.id.asc()


async def count(unit: Unit, account_id: int, flt: Filter) -> int:
    """How many messages match (one aggregate query)."""
    stmt = select(func.count()).select_from(messages).where(*_where(account_id, flt))
    return int(await unit.conn.scalar(stmt) or 0)


async def search(
    unit: Unit,
    account_id: int,
    flt: Filter,
    *,
    newest_first: bool = False,
    limit: int = 1000,
    offset: int = 0,
) -> Page:
    """One page of matching messages with their campaign (``campaign_id/_title/_body``)."""
    limit = max(0, min(limit, MAX_PAGE))
    where = _where(account_id, flt)
    total = await count(unit, account_id, flt)
    if limit == 0 or offset >= total:
        return Page(total, [])
    page = select(messages).where(*where).order_by(*_order(messages.c, newest_first)).limit(limit).offset(offset)
    page = page.subquery()
    stmt = (
        select(
            page,
            campaigns.c.id.label("campaign_id"),
            campaigns.c.title.label("campaign_title"),
            campaigns.c.body.label("campaign_body"),
        )
        .select_from(page.outerjoin(campaigns, campaigns.c.batch_id == page.c.batch_id))
        .order_by(*_order(page.c, newest_first))
    )
    return Page(total, list((await unit.conn.execute(stmt)).all()))
