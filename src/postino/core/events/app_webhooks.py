"""Webhooks in the phone app's format: one event each, optionally for one phone, signed as the app signs.

Users of the SMS Gateway for Android app register webhooks (``sms:received``,
``sms:delivered``, …) and verify them with the signing key of their settings. Postino
delivers these server-side through the outbox: rows signed with the account's signing
key, ``X-Signature`` = hex HMAC-SHA256 of the body followed by ``X-Timestamp``
(``outbox.enqueue(signature="app")``). The key is stored sealed in the account's
settings, like every secret Postino must read back.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select

from ...db.tables import app_webhooks
from ..accounts import accounts, sealed, secrets
from ..clock import utcnow
from ..errors import InvalidInput, NotFound
from ..service import Unit
from .webhooks import check_url

EVENTS = ("sms:received", "sms:sent", "sms:delivered", "sms:failed", "sms:data-received", "system:ping")
MAX_PER_ACCOUNT = 20
MAX_EXT_ID = 64
KEY_SETTING = "app_webhooks_signing_key"


@dataclass(frozen=True)
class AppWebhook:
    id: int
    account_id: int
    ext_id: str
    device_id: int | None
    url: str
    event: str
    created_at: datetime


def _row(row: Any) -> AppWebhook:
    return AppWebhook(row.id, row.account_id, row.ext_id, row.device_id, row.url, row.event, row.created_at)


async def put(
    unit: Unit, account_id: int, *, url: str, event: str, ext_id: str | None = None, device_id: int | None = None
) -> AppWebhook:
    """Add a webhook, or replace the account's webhook with the same ``ext_id``."""
    if event not in EVENTS:
        raise InvalidInput(f"Unknown event {event!r}; known: {', '.join(EVENTS)}", field="event")
    ext_id = (ext_id or "").strip() or secrets.token_urlsafe_chars(21)
    if len(ext_id) > MAX_EXT_ID:
        raise InvalidInput(f"id must be at most {MAX_EXT_ID} characters", field="id")
    url = await check_url(unit, url)
    replaced = await unit.conn.execute(
        delete(app_webhooks).where(app_webhooks.c.account_id == account_id, app_webhooks.c.ext_id == ext_id)
    )
    if not replaced.rowcount:
        count = await unit.conn.scalar(
            select(func.count()).select_from(app_webhooks).where(app_webhooks.c.account_id == account_id)
        )
        if int(count or 0) >= MAX_PER_ACCOUNT:
            raise InvalidInput(f"An account may have at most {MAX_PER_ACCOUNT} webhooks")
    await signing_key(unit, account_id, create=True)
    row = (
        await unit.conn.execute(
            insert(app_webhooks)
            .values(account_id=account_id, ext_id=ext_id, device_id=device_id, url=url, event=event, created_at=utcnow())
            .returning(*app_webhooks.c)
        )
    ).one()
    return _row(row)


async def list_for(unit: Unit, account_id: int) -> list[AppWebhook]:
    rows = (
        await unit.conn.execute(
            select(app_webhooks).where(app_webhooks.c.account_id == account_id).order_by(app_webhooks.c.id)
        )
    ).all()
    return [_row(r) for r in rows]


async def remove(unit: Unit, account_id: int, ext_id: str) -> None:
    """Delete the account's webhook ``ext_id``; ``NotFound`` for an unknown (or another account's) id."""
    result = await unit.conn.execute(
        delete(app_webhooks).where(app_webhooks.c.account_id == account_id, app_webhooks.c.ext_id == ext_id)
    )
    if not result.rowcount:
        raise NotFound("Webhook not found")


async def subscribers(unit: Unit, account_ids: Collection[int], events: Collection[str]) -> list[AppWebhook]:
    """The webhooks of these accounts that want any of ``events``."""
    if not account_ids or not events:
        return []
    rows = (
        await unit.conn.execute(
            select(app_webhooks)
            .where(app_webhooks.c.account_id.in_(sorted(account_ids)), app_webhooks.c.event.in_(sorted(events)))
            .order_by(app_webhooks.c.id)
        )
    ).all()
    return [_row(r) for r in rows]


async def sealed_signing_key(unit: Unit, account_id: int) -> str | None:
    """The account's signing key as stored (sealed), for outbox rows; None before it has one."""
    account = await accounts.get(unit, account_id)
    return account.settings.get(KEY_SETTING) or None


async def signing_key(unit: Unit, account_id: int, *, create: bool = False) -> str | None:
    """The account's signing key in clear; with ``create``, one is made when there is none yet."""
    stored = await sealed_signing_key(unit, account_id)
    if stored:
        return sealed.for_settings(unit.settings).open(stored)
    if not create:
        return None
    key = secrets.token_hex(16)
    await set_signing_key(unit, account_id, key)
    return key


async def set_signing_key(unit: Unit, account_id: int, key: str) -> None:
    key = (key or "").strip()
    if not 1 <= len(key) <= 200:
        raise InvalidInput("signing_key must be 1 to 200 characters", field="webhooks.signing_key")
    await accounts.update_settings(unit, account_id, **{KEY_SETTING: sealed.for_settings(unit.settings).seal(key)})
