"""The outbox: every outgoing callback is first a row, written in the caller's transaction.

A state change and the callback announcing it commit together or not at all; a
delivery worker (``dispatch/outbox``) sends the rows later, retrying, in order per key.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from ...db.tables import outbox
from ..clock import utcnow
from ..service import Unit

RETRY_FOR = timedelta(hours=24)


async def enqueue(
    unit: Unit,
    *,
    account_id: int,
    event: str,
    url: str,
    payload: dict,
    secret: str | None = None,
    form_field: str | None = None,
    message_id: int | None = None,
    webhook_id: int | None = None,
    order_key: str | None = None,
) -> int:
    """Queue one POST of ``payload`` to ``url``. ``order_key`` defaults to the message id."""
    now = utcnow()
    key = order_key if order_key is not None else (f"m{message_id}" if message_id is not None else None)
    row = await unit.conn.execute(
        insert(outbox)
        .values(
            account_id=account_id,
            event=event,
            url=url,
            payload=payload,
            form_field=form_field,
            secret=secret,
            order_key=key,
            message_id=message_id,
            webhook_id=webhook_id,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            deadline=now + RETRY_FOR,
            created_at=now,
        )
        .returning(outbox.c.id)
    )
    unit.after_commit(lambda: unit.core.notifier.publish("outbox", "pending"))
    return int(row.scalar_one())
