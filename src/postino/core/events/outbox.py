"""The outbox: every outgoing callback is first a row, written in the caller's transaction.

A state change and the callback announcing it commit together or not at all; a
delivery worker (``dispatch/outbox``) sends the rows later, retrying, in order per key.

A row's signing secret is stored sealed with the server key (``accounts.sealed``); the
sender opens it with ``open_secret`` just before signing.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy import insert

from ...db.tables import outbox
from ...settings import Settings
from ..accounts import sealed
from ..clock import utcnow
from ..service import Unit

log = logging.getLogger("postino.outbox")

RETRY_FOR = timedelta(hours=24)


async def enqueue(
    unit: Unit,
    *,
    account_id: int,
    event: str,
    url: str,
    payload: dict,
    secret: str | None = None,
    sealed_secret: str | None = None,
    form_field: str | None = None,
    message_id: int | None = None,
    webhook_id: int | None = None,
    order_key: str | None = None,
    signature: str | None = None,
) -> int:
    """Queue one POST of ``payload`` to ``url``. ``order_key`` defaults to the message id.

    ``signature``: None signs Postino's way (``X-Postino-Signature``); ``"app"`` the phone
    app's way (``X-Signature`` over the body and ``X-Timestamp``), for receivers built for it.

    The POST is signed with ``secret`` (clear; sealed here), or with ``sealed_secret``
    (already sealed, e.g. a webhook's stored secret), or not at all.
    """
    if secret is not None and sealed_secret is not None:
        raise ValueError("give secret or sealed_secret, not both")
    if secret is not None:
        sealed_secret = sealed.for_settings(unit.settings).seal(secret)
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
            secret=sealed_secret,
            order_key=key,
            message_id=message_id,
            webhook_id=webhook_id,
            signature=signature,
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


def open_secret(settings: Settings, stored: str | None) -> str | None:
    """The clear signing secret of an outbox row (None: unsigned); ``sealed.Unreadable`` if
    this server's key cannot open it."""
    return None if stored is None else sealed.for_settings(settings).open(stored)


_last_unreadable_log = -1e9


def report_unreadable(row_id: int, exc: sealed.Unreadable) -> None:
    """Log, at most once a minute, that a row was left pending because its secret did not open.

    Such a row is not sent unsigned and not given up: it waits, and goes out once the
    server runs with the key its secret was sealed with. The message names keys by id only.
    """
    global _last_unreadable_log
    now = time.monotonic()
    if now - _last_unreadable_log < 60:
        return
    _last_unreadable_log = now
    log.error("delivery %s waits: its signing secret cannot be decrypted: %s", row_id, exc)
