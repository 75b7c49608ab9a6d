"""Refunds of messages whose charge is returned when they fail (NusaSMS WhatsApp ``F``).

``messages.submit(refund_on_failure=True)`` marks each message in ``extra``; when such a
message reaches a failure state (failed, undelivered, expired) this listener returns its
price to the balance it came from, in the same transaction as the move. Moves are
monotonic, so a message fails once; the ledger is still checked so a refund can never
be paid twice.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from ...db.tables import ledger
from ..messages import lifecycle
from ..service import Unit
from . import billing


async def refund_failed(unit: Unit, moved: list[lifecycle.Moved]) -> None:
    due = [
        m
        for m in moved
        if m.state in lifecycle.FAILURES
        and (m.extra or {}).get("refund_on_failure")
        and m.price is not None
        and Decimal(m.price) > 0
    ]
    if not due:
        return
    paid = set(
        (
            await unit.conn.execute(
                select(ledger.c.message_id).where(
                    ledger.c.kind == "refund", ledger.c.message_id.in_([m.id for m in due])
                )
            )
        ).scalars()
    )
    for m in due:
        if m.id not in paid:
            await billing.refund(
                unit, m.account_id, m.product, Decimal(m.price), batch_id=m.batch_id, message_id=m.id,
                note=f"refund: message {m.state}",
            )
