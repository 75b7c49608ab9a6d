"""``sms:*`` webhooks: what happens to every message, of any API, told in the phone app's envelope.

The listeners run inside the transaction of each lifecycle move (and of each stored
inbound message), so a state and the webhook rows announcing it commit together; the
outbox sends them later, signed with the account's signing key the way the app signs
(``X-Signature`` over the body and ``X-Timestamp``). ``messageId`` is the id the user
gave an SMS Gate message, else the id the phone knows.
"""

from __future__ import annotations

import uuid
from typing import Any

from ...core.devices import devices
from ...core.errors import NotFound
from ...core.events import app_webhooks, outbox
from ...core.messages import batches, lifecycle
from ...core.messages.lifecycle import Moved
from ...core.service import Unit
from . import render

EVENT_OF = {
    lifecycle.SENT: "sms:sent",
    lifecycle.DELIVERED: "sms:delivered",
    lifecycle.FAILED: "sms:failed",
    lifecycle.UNDELIVERED: "sms:failed",
    lifecycle.EXPIRED: "sms:failed",
}
TIME_FIELD = {"sms:sent": "sentAt", "sms:delivered": "deliveredAt", "sms:failed": "failedAt"}


async def _device_exts(unit: Unit, rows: list[Any]) -> dict[int, str]:
    found: dict[int, str] = {}
    for row in rows:
        if row.device_id is not None and row.device_id not in found:
            try:
                found[row.device_id] = (await devices.get(unit, row.account_id, row.device_id)).ext_id
            except NotFound:  # a deleted phone: the envelope names none
                found[row.device_id] = ""
    return found


async def _enqueue(unit: Unit, hook: app_webhooks.AppWebhook, event: str, device: str, payload: dict, message_id: int) -> None:
    key = await app_webhooks.sealed_signing_key(unit, hook.account_id)
    if key is None:
        await app_webhooks.signing_key(unit, hook.account_id, create=True)
        key = await app_webhooks.sealed_signing_key(unit, hook.account_id)
    body = {"id": uuid.uuid4().hex, "webhookId": hook.ext_id, "event": event, "deviceId": device, "payload": payload}
    await outbox.enqueue(
        unit,
        account_id=hook.account_id,
        event=event,
        url=hook.url,
        payload=body,
        sealed_secret=key,
        message_id=message_id,
        order_key=f"app{hook.id}:m{message_id}",
        signature="app",
    )


def _targets(hooks: list[app_webhooks.AppWebhook], row: Any, event: str) -> list[app_webhooks.AppWebhook]:
    return [
        h for h in hooks
        if h.account_id == row.account_id and h.event == event and (h.device_id is None or h.device_id == row.device_id)
    ]


async def announce(unit: Unit, moved: list[Moved]) -> None:
    wanted = [m for m in moved if m.state in EVENT_OF]
    if not wanted:
        return
    hooks = await app_webhooks.subscribers(unit, {m.account_id for m in wanted}, {EVENT_OF[m.state] for m in wanted})
    if not hooks:
        return
    rows = {r.id: r for r in await batches.messages_by_ids(unit, [m.id for m in wanted])}
    found = await batches.by_ids(unit, sorted({m.batch_id for m in wanted if m.batch_id is not None}))
    exts = await _device_exts(unit, list(rows.values()))
    for m in wanted:
        row = rows.get(m.id)
        if row is None:
            continue
        event = EVENT_OF[m.state]
        targets = _targets(hooks, row, event)
        if not targets:
            continue
        batch = found.get(m.batch_id) if m.batch_id is not None else None
        own_id = (batch.data or {}).get("id") if batch is not None and batch.kind == render.KIND else None
        payload: dict[str, Any] = {
            "messageId": own_id or str(m.id),
            "phoneNumber": row.recipient_raw or row.recipient,
            TIME_FIELD[event]: render.iso(m.at),
        }
        if row.slot is not None:
            payload["simNumber"] = row.slot + 1
        if event == "sms:failed":
            payload["reason"] = row.error or row.reason or "failed"
        for hook in targets:
            await _enqueue(unit, hook, event, exts.get(row.device_id, ""), payload, m.id)


async def announce_received(unit: Unit, account_id: int, ids: list[int]) -> None:
    hooks = await app_webhooks.subscribers(unit, {account_id}, {"sms:received"})
    if not hooks:
        return
    rows = await batches.messages_by_ids(unit, ids)
    exts = await _device_exts(unit, rows)
    for row in rows:
        extra = row.extra or {}
        payload: dict[str, Any] = {
            "messageId": extra.get("phone_message_id") or str(row.id),
            "message": row.body,
            "phoneNumber": row.sender or row.recipient,
            "sender": row.sender or row.recipient,
            "receivedAt": extra.get("received_at") and render.iso(_parse(extra["received_at"])) or render.iso(row.created_at),
        }
        if extra.get("to"):
            payload["recipient"] = extra["to"]
        if row.slot is not None:
            payload["simNumber"] = row.slot + 1
        for hook in _targets(hooks, row, "sms:received"):
            await _enqueue(unit, hook, "sms:received", exts.get(row.device_id, ""), payload, row.id)


def _parse(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value)
