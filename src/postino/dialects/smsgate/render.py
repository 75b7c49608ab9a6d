"""The JSON shapes of the SMS Gate API: message states, devices, webhooks, inbox entries, times.

Canonical states map to the app's: queued/scheduled/assigned are Pending, taken is
Processed, sent Sent, delivered/read Delivered, failed/undelivered/expired Failed,
canceled Cancelled. A message to many numbers shows the least advanced of them.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

from ...core.messages import lifecycle

KIND = "smsgate"
"""The kind of the core batch that one SMS Gate message is."""

PENDING, PROCESSED, SENT, DELIVERED, FAILED = "Pending", "Processed", "Sent", "Delivered", "Failed"
CANCELLING, CANCELLED = "Cancelling", "Cancelled"

PHONE_STATE: dict[str, str] = {
    lifecycle.DRAFT: PENDING,
    lifecycle.SCHEDULED: PENDING,
    lifecycle.QUEUED: PENDING,
    lifecycle.ASSIGNED: PENDING,
    lifecycle.TAKEN: PROCESSED,
    lifecycle.SENT: SENT,
    lifecycle.DELIVERED: DELIVERED,
    lifecycle.READ: DELIVERED,
    lifecycle.UNDELIVERED: FAILED,
    lifecycle.FAILED: FAILED,
    lifecycle.EXPIRED: FAILED,
    lifecycle.CANCELED: CANCELLED,
}
CANONICAL: dict[str, frozenset[str]] = {
    phone: frozenset(c for c, p in PHONE_STATE.items() if p == phone)
    for phone in (PENDING, PROCESSED, SENT, DELIVERED, FAILED, CANCELLED)
}
_IN_FLIGHT = (PENDING, PROCESSED, SENT)


def public_id(account_id: int, message_id: str) -> str:
    """The batch's stored public id: the user's id, per account (two accounts may pick the same id)."""
    return hashlib.sha256(f"smsgate:{account_id}:{message_id}".encode()).hexdigest()[:32]


def iso(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with ``Z`` and six fraction digits (Python 3.9's ``fromisoformat`` reads it)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def overall(states: list[str]) -> str:
    """The message's state: the least advanced recipient still on its way, else Failed, Cancelled or Delivered."""
    moving = [s for s in states if s in _IN_FLIGHT]
    if moving:
        return min(moving, key=_IN_FLIGHT.index)
    for final in (FAILED, CANCELLED):
        if final in states:
            return final
    return DELIVERED if states else PENDING


def filter_for(state: str) -> tuple[frozenset[str], frozenset[str]]:
    """(some message in, no message in): the canonical states that make a message show ``state``."""
    if state == CANCELLING:
        return frozenset(), frozenset()
    earlier = {PENDING: (), PROCESSED: (PENDING,), SENT: (PENDING, PROCESSED)}.get(state, _IN_FLIGHT)
    without = set().union(*(CANONICAL[s] for s in earlier)) if earlier else set()
    if state == DELIVERED:
        without |= CANONICAL[FAILED] | CANONICAL[CANCELLED]
    if state == CANCELLED:
        without |= CANONICAL[FAILED]
    return CANONICAL[state], frozenset(without)


def message_state(
    batch: Any, rows: list[Any], events: dict[int, list[tuple[str, datetime]]], *, content: bool
) -> dict[str, Any]:
    data = batch.data or {}
    recipients = []
    for row in rows:
        entry: dict[str, Any] = {"phoneNumber": row.recipient_raw or row.recipient, "state": PHONE_STATE.get(row.state, PENDING)}
        if entry["state"] == FAILED:
            entry["error"] = row.error or row.reason or "failed"
        recipients.append(entry)
    first: dict[str, datetime] = {}
    for row in rows:
        for state, at in events.get(row.id, []):
            phone = PHONE_STATE.get(state)
            if phone and (phone not in first or at < first[phone]):
                first[phone] = at
    body: dict[str, Any] = {
        "id": data.get("id", batch.public_id),
        "deviceId": data.get("deviceId"),
        "state": overall([r["state"] for r in recipients]),
        "isHashed": False,
        "isEncrypted": bool(data.get("isEncrypted", False)),
        "recipients": recipients,
        "states": {state: iso(at) for state, at in sorted(first.items(), key=lambda kv: kv[1])},
        "createdAt": iso(batch.created_at),
    }
    if content and rows:
        body["textMessage"] = {"text": rows[0].body}
    return body


def device_json(device: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": device.ext_id,
        "name": device.name,
        "createdAt": iso(device.created_at),
        "updatedAt": iso(device.last_seen or device.created_at),
        "lastSeen": iso(device.last_seen),
    }
    cards = [
        {k: c[k] for k in ("slotIndex", "simNumber", "phoneNumber", "carrierName", "iccid") if c.get(k) is not None}
        for c in device.sim_cards
        if not c.get("channels") or "sms" in c.get("channels", [])
    ]
    if cards:
        body["simCards"] = cards
    return body


def webhook_json(hook: Any, device_ext: str | None) -> dict[str, Any]:
    return {"id": hook.ext_id, "deviceId": device_ext, "url": hook.url, "event": hook.event}


def inbox_json(row: Any, device_ext: str | None) -> dict[str, Any]:
    extra = row.extra or {}
    body: dict[str, Any] = {
        "id": str(row.id),
        "type": "SMS",
        "sender": row.sender or row.recipient,
        "contentPreview": (row.body or "")[:256],
        "createdAt": iso(row.created_at),
        "deviceId": device_ext,
    }
    if extra.get("to"):
        body["recipient"] = extra["to"]
    if row.slot is not None:
        body["simNumber"] = row.slot + 1
    return body
