"""The ledger a page at a time: what an account's balances went up and down by, newest first.

Billing writes the ledger (``billing.py``); this module only reads it, keyed by id so a
page of an account with years of debits costs the same as the first one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from ...db.tables import ledger
from ..service import Unit

MAX_PAGE = 200


@dataclass(frozen=True)
class Entry:
    id: int
    product: str
    kind: str
    amount: Decimal
    message_id: int | None
    batch_id: int | None
    note: str
    created_at: datetime


async def page(
    unit: Unit, account_id: int, *, product: str | None = None, before: int | None = None, limit: int = 50
) -> tuple[list[Entry], int | None]:
    """Entries with ids below ``before`` (None: the newest), and the cursor of the next page."""
    limit = max(1, min(limit, MAX_PAGE))
    stmt = select(ledger).where(ledger.c.account_id == account_id)
    if product:
        stmt = stmt.where(ledger.c.product == product)
    if before is not None:
        stmt = stmt.where(ledger.c.id < before)
    rows = (await unit.conn.execute(stmt.order_by(ledger.c.id.desc()).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    entries = [
        Entry(r.id, r.product, r.kind, r.amount, r.message_id, r.batch_id, r.note, r.created_at) for r in rows
    ]
    return entries, (rows[-1].id if more else None)
