"""Account webhooks: which URLs hear which events, and turning events into outbox rows.

An event becomes one outbox row per subscribed webhook, written in the same transaction
as the change it announces: a message state that commits always has its webhook rows
committed with it, and a rollback takes both. ``dispatch/outbox`` sends the rows.

A webhook's secret signs every POST, so it is kept sealed with the server key
(``accounts.sealed``), not hashed. Announcing copies the sealed form onto the outbox row
as it is: the paths that emit events never decrypt, only the sender does.
"""

from __future__ import annotations

import secrets as _secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from ...db.tables import messages, outbox, outbox_attempts, webhooks
from ..accounts import sealed
from ..clock import utcnow
from ..errors import InvalidInput, NotFound
from ..messages import lifecycle
from ..net import guard
from ..service import Unit
from . import outbox as outbox_core

MESSAGE_SENT = "message.sent"
MESSAGE_DELIVERED = "message.delivered"
MESSAGE_FAILED = "message.failed"
MESSAGE_RECEIVED = "message.received"
DEVICE_OFFLINE = "device.offline"
CAMPAIGN_FINISHED = "campaign.finished"
WA_PHONE_CHECK_DONE = "wa_phone_check.done"
CONTACT_OPTED_OUT = "contact.opted_out"
CONTACT_OPTED_IN = "contact.opted_in"

EVENTS = (
    MESSAGE_SENT, MESSAGE_DELIVERED, MESSAGE_FAILED, MESSAGE_RECEIVED,
    DEVICE_OFFLINE, CAMPAIGN_FINISHED, WA_PHONE_CHECK_DONE, CONTACT_OPTED_OUT, CONTACT_OPTED_IN,
)  # fmt: skip

STATE_EVENTS: dict[str, str] = {
    lifecycle.SENT: MESSAGE_SENT,
    lifecycle.DELIVERED: MESSAGE_DELIVERED,
    lifecycle.FAILED: MESSAGE_FAILED,
    lifecycle.UNDELIVERED: MESSAGE_FAILED,
    lifecycle.EXPIRED: MESSAGE_FAILED,
    lifecycle.RECEIVED: MESSAGE_RECEIVED,
}
"""Which message state fires which event (``read`` and ``canceled`` fire none)."""

MAX_PER_ACCOUNT = 20
MAX_URL = 2000
MAX_SECRET = 200


@dataclass(frozen=True)
class Webhook:
    id: int
    account_id: int
    url: str
    events: tuple[str, ...]
    sealed_secret: str = field(repr=False)
    """The stored form of ``secret``."""
    created_at: datetime
    sealer: sealed.Sealer = field(repr=False, compare=False)

    @cached_property
    def secret(self) -> str:
        """The signing secret in clear, opened on first use."""
        return self.sealer.open(self.sealed_secret)

    @property
    def secret_hint(self) -> str:
        return self.secret[-4:]

    def public(self) -> dict[str, Any]:
        """What lists show: everything but the secret."""
        return {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "secret_hint": self.secret_hint,
            "created_at": iso(self.created_at),
        }


def _row(unit: Unit, row: Any) -> Webhook:
    return Webhook(
        id=row.id,
        account_id=row.account_id,
        url=row.url,
        events=tuple(row.events or ()),
        sealed_secret=row.secret,
        created_at=row.created_at,
        sealer=sealed.for_settings(unit.settings),
    )


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, the one time format of every payload."""
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_secret() -> str:
    return "whsec_" + _secrets.token_urlsafe(32)


def check_events(events: list[str] | tuple[str, ...]) -> list[str]:
    wanted = list(dict.fromkeys(e.strip() for e in events if e and e.strip()))
    if not wanted:
        raise InvalidInput("At least one event is needed", field="events")
    unknown = [e for e in wanted if e not in EVENTS]
    if unknown:
        raise InvalidInput(f"Unknown event {unknown[0]!r}; known: {', '.join(EVENTS)}", field="events")
    return wanted


async def check_url(unit: Unit, url: str) -> str:
    """An http(s) URL the SSRF guard allows under the operator's settings (``guard.check_callback``)."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL:
        raise InvalidInput(f"url must be 1 to {MAX_URL} characters", field="url")
    try:
        url = await guard.check_callback(url, unit.settings)
    except guard.BlockedURL as exc:
        raise InvalidInput(exc.message, field="url") from exc
    return url


async def create(
    unit: Unit, account_id: int, *, url: str, events: list[str] | tuple[str, ...], secret: str | None = None
) -> Webhook:
    """Add a webhook; without ``secret`` one is generated (the caller shows it once).

    The secret is stored sealed with the server key; the webhook returned has it in clear.
    """
    wanted = check_events(events)
    url = await check_url(unit, url)
    if secret is not None:
        secret = secret.strip()
        if not 16 <= len(secret) <= MAX_SECRET:
            raise InvalidInput(f"secret must be 16 to {MAX_SECRET} characters", field="secret")
    count = (
        await unit.conn.execute(select(func.count()).select_from(webhooks).where(webhooks.c.account_id == account_id))
    ).scalar_one()
    if count >= MAX_PER_ACCOUNT:
        raise InvalidInput(f"An account may have at most {MAX_PER_ACCOUNT} webhooks")
    row = (
        await unit.conn.execute(
            insert(webhooks)
            .values(
                account_id=account_id,
                url=url,
                events=wanted,
                secret=sealed.for_settings(unit.settings).seal(secret or new_secret()),
                created_at=utcnow(),
            )
            .returning(*webhooks.c)
        )
    ).one()
    return _row(unit, row)


async def list_for(unit: Unit, account_id: int) -> list[Webhook]:
    rows = (
        await unit.conn.execute(select(webhooks).where(webhooks.c.account_id == account_id).order_by(webhooks.c.id))
    ).all()
    return [_row(unit, r) for r in rows]


async def get(unit: Unit, account_id: int, webhook_id: int) -> Webhook:
    """One webhook of the account, or ``NotFound`` (also for another account's id)."""
    row = (
        await unit.conn.execute(
            select(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.account_id == account_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("Webhook not found")
    return _row(unit, row)


async def remove(unit: Unit, account_id: int, webhook_id: int) -> None:
    """Delete a webhook; its deliveries still pending are canceled, not sent."""
    result = await unit.conn.execute(
        delete(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.account_id == account_id)
    )
    if result.rowcount == 0:
        raise NotFound("Webhook not found")
    await unit.conn.execute(
        update(outbox)
        .where(outbox.c.webhook_id == webhook_id, outbox.c.state == "pending")
        .values(state="canceled")
    )


async def _subscribers(unit: Unit, account_ids: set[int], event_names: set[str]) -> list[Webhook]:
    rows = (await unit.conn.execute(select(webhooks).where(webhooks.c.account_id.in_(sorted(account_ids))))).all()
    return [w for w in (_row(unit, r) for r in rows) if event_names.intersection(w.events)]


def envelope(event: str, data: dict[str, Any], *, at: datetime | None = None) -> dict[str, Any]:
    """The JSON every webhook POST carries: a unique event id, its name, its time, its data."""
    return {"id": "evt_" + uuid.uuid4().hex, "event": event, "created_at": iso(at or utcnow()), "data": data}


async def emit(
    unit: Unit,
    account_id: int,
    event: str,
    payload: dict[str, Any],
    *,
    order_key: str | None = None,
    message_id: int | None = None,
) -> list[int]:
    """Announce ``event`` to every webhook of the account that wants it; the outbox ids.

    Call it inside the transaction that makes the event true. ``payload`` (JSON-ready:
    strings, numbers, lists, dicts) becomes the envelope's ``data``. Rows of one webhook
    with the same ``order_key`` are delivered one after the other, in emit order.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    ids = []
    body = envelope(event, payload)
    for hook in await _subscribers(unit, {account_id}, {event}):
        ids.append(await _post(unit, hook, event, body, message_id=message_id, order_key=order_key))
    return ids


async def _post(
    unit: Unit, hook: "Webhook", event: str, body: dict, *, message_id: int | None, order_key: str | None
) -> int:
    """One signed outbox row for ``hook`` (its sealed secret copied, not opened); rows with
    one key go out in order, per webhook."""
    return await outbox_core.enqueue(
        unit,
        account_id=hook.account_id,
        event=event,
        url=hook.url,
        payload=body,
        sealed_secret=hook.sealed_secret,
        message_id=message_id,
        webhook_id=hook.id,
        order_key=f"w{hook.id}:{order_key}" if order_key else None,
    )


def message_data(row: Any, *, at: datetime | None = None) -> dict[str, Any]:
    """A message as webhooks describe it. Inbound messages carry their text; outgoing ones do not."""
    data: dict[str, Any] = {
        "id": row.id,
        "direction": row.direction,
        "channel": row.channel,
        "state": row.state,
        "reason": row.reason,
        "error": row.error,
        "recipient": row.recipient,
        "sender": row.sender,
        "device_id": row.device_id,
        "slot": row.slot,
        "batch_id": row.batch_id,
        "customer_id": row.customer_id,
        "segments": row.segments,
        "created_at": iso(row.created_at),
        "updated_at": iso(at or row.updated_at),
        "sent_at": iso(row.sent_at),
        "delivered_at": iso(row.delivered_at),
        "read_at": iso(row.read_at),
    }
    if row.direction == "in":
        data["body"] = row.body
        data["media_url"] = row.media_url
    return data


async def _announce_messages(unit: Unit, changes: list[tuple[int, int, str, datetime]]) -> None:
    """Outbox rows for (message id, account id, state, at) changes that some webhook wants."""
    wanted = [c for c in changes if c[2] in STATE_EVENTS]
    if not wanted:
        return
    hooks = await _subscribers(unit, {c[1] for c in wanted}, {STATE_EVENTS[c[2]] for c in wanted})
    if not hooks:
        return
    by_id = {
        r.id: r
        for r in (
            await unit.conn.execute(select(messages).where(messages.c.id.in_(sorted({c[0] for c in wanted}))))
        ).all()
    }
    for message_id, account_id, state, at in wanted:
        event = STATE_EVENTS[state]
        row = by_id.get(message_id)
        if row is None:
            continue
        targets = [h for h in hooks if h.account_id == account_id and event in h.events]
        if not targets:
            continue
        body = envelope(event, message_data(row, at=at), at=at)
        for hook in targets:
            await _post(unit, hook, event, body, message_id=message_id, order_key=f"m{message_id}")


async def announce_moves(unit: Unit, moved: list[lifecycle.Moved]) -> None:
    await _announce_messages(unit, [(m.id, m.account_id, m.state, m.at) for m in moved])


async def announce_received(unit: Unit, account_id: int, ids: list[int]) -> None:
    now = utcnow()
    await _announce_messages(unit, [(mid, account_id, lifecycle.RECEIVED, now) for mid in ids])


async def announce_offline(unit: Unit, went: list[Any]) -> None:
    for device in went:
        await emit(
            unit,
            device.account_id,
            DEVICE_OFFLINE,
            {
                "id": device.id,
                "ext_id": device.ext_id,
                "name": device.name,
                "last_seen": iso(device.last_seen),
                "offline_after_seconds": unit.settings.offline_after_seconds,
            },
            order_key=f"d{device.id}",
        )


async def deliveries(
    unit: Unit, account_id: int, *, webhook_id: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest outbox rows of the account (of one webhook), each with its attempt log."""
    stmt = select(outbox).where(outbox.c.account_id == account_id)
    if webhook_id is not None:
        stmt = stmt.where(outbox.c.webhook_id == webhook_id)
    rows = (await unit.conn.execute(stmt.order_by(outbox.c.id.desc()).limit(max(1, min(limit, 500))))).all()
    attempts: dict[int, list[dict[str, Any]]] = {r.id: [] for r in rows}
    if rows:
        for a in (
            await unit.conn.execute(
                select(outbox_attempts)
                .where(outbox_attempts.c.outbox_id.in_(list(attempts)))
                .order_by(outbox_attempts.c.outbox_id, outbox_attempts.c.attempt, outbox_attempts.c.id)
            )
        ).all():
            attempts[a.outbox_id].append(
                {
                    "attempt": a.attempt,
                    "at": iso(a.at),
                    "status_code": a.status_code,
                    "error": a.error,
                    "duration_ms": a.duration_ms,
                }
            )
    return [
        {
            "id": r.id,
            "event": r.event,
            "webhook_id": r.webhook_id,
            "message_id": r.message_id,
            "url": r.url,
            "state": r.state,
            "attempts": r.attempts,
            "created_at": iso(r.created_at),
            "next_attempt_at": iso(r.next_attempt_at) if r.state == "pending" else None,
            "delivered_at": iso(r.delivered_at),
            "deadline": iso(r.deadline),
            "log": attempts[r.id],
        }
        for r in rows
    ]
