"""Operators: the accounts that run the instance.

An operator's dashboard lists every account, the connectors and routes of all of them,
and tops accounts up. Being one is a flag on the account (``accounts.operator``), set by
``postino accounts create --operator``; nothing an account does through an API sets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from ...db.tables import accounts
from ..errors import NotFound
from ..service import Unit


@dataclass(frozen=True)
class AccountLine:
    """One account as the operator's list shows it."""

    id: int
    email: str
    country: str
    timezone: str
    operator: bool
    created_at: datetime


async def set_operator(unit: Unit, account_id: int, operator: bool = True) -> None:
    done = (
        await unit.conn.execute(update(accounts).where(accounts.c.id == account_id).values(operator=operator))
    ).rowcount
    if not done:
        raise NotFound("Account not found")


async def is_operator(unit: Unit, account_id: int) -> bool:
    return bool(await unit.conn.scalar(select(accounts.c.operator).where(accounts.c.id == account_id)))


async def every_account(unit: Unit, *, after: int = 0, limit: int = 100) -> tuple[list[AccountLine], int | None]:
    """All accounts in id order after ``after``, and the cursor of the next page."""
    rows = (
        await unit.conn.execute(
            select(accounts.c.id, accounts.c.email, accounts.c.country, accounts.c.timezone, accounts.c.operator,
                   accounts.c.created_at)
            .where(accounts.c.id > after)
            .order_by(accounts.c.id)
            .limit(limit + 1)
        )
    ).all()  # fmt: skip
    more = len(rows) > limit
    rows = rows[:limit]
    found = [AccountLine(r.id, r.email, r.country, r.timezone, bool(r.operator), r.created_at) for r in rows]
    return found, (rows[-1].id if more else None)
