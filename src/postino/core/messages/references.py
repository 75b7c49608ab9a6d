"""Finding a message by what a client calls it: Postino's id or the client's own message id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ...db.tables import messages
from ..service import Unit


async def find(unit: Unit, account_id: int, ref: str) -> Any | None:
    """The account's message whose id (decimal) or client message id is ``ref``, else None."""
    ref = (ref or "").strip()
    if not ref:
        return None
    if ref.isdigit() and len(ref) < 19:
        row = (
            await unit.conn.execute(
                select(messages).where(messages.c.id == int(ref), messages.c.account_id == account_id)
            )
        ).one_or_none()
        if row is not None:
            return row
    return (
        await unit.conn.execute(
            select(messages)
            .where(messages.c.customer_id == ref[:64], messages.c.account_id == account_id)
            .order_by(messages.c.id)
            .limit(1)
        )
    ).one_or_none()
