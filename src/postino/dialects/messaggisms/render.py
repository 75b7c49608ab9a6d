"""MessaggiSMS answer shapes: the envelope, Message_Object, Recipient_Object, the short list form.

Shapes follow the provider's published examples: ids as 24 hex characters, times as
epoch-millisecond strings, recipient times as ``{"$date": {"$numberLong": "<ms>"}}``,
money as JSON numbers in objects and as a decimal string in ``credit``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from fastapi.responses import Response

from ...core.accounts.accounts import Account
from ...core.messages import lifecycle
from ...core.messages.batches import Group, sms_price
from ...core.messages.segments import count as count_segments
from ...http import Problem
from .errors import INVALID_BODY, INVALID_PARAMETER
from .parse import epoch_ms

KIND = "messaggisms"

# Message_Object.state
OPEN, SENDING, DONE, DELETED, TEST = 0, 1, 2, 3, 4

# canonical state -> (recipient state, state_description, state_detail)
RECIPIENT_STATES: dict[str, tuple[str, str, str]] = {
    lifecycle.DRAFT: ("QUEUED", "PENDING_TRANSACTION", "Waiting for the transaction to close"),
    lifecycle.SCHEDULED: ("QUEUED", "PENDING_SCHEDULED", "Scheduled for sending"),
    lifecycle.QUEUED: ("QUEUED", "PENDING_ENROUTE", "Message queued for sending"),
    lifecycle.ASSIGNED: ("QUEUED", "PENDING_ENROUTE", "Message queued for sending"),
    lifecycle.TAKEN: ("QUEUED", "PENDING_SENDING", "Message handed to the sending device"),
    lifecycle.SENT: ("SENT", "SENT_TO_OPERATOR", "Message sent to the operator"),
    lifecycle.DELIVERED: ("DELIVERED", "DELIVERED_TO_HANDSET", "Message delivered to handset"),
    lifecycle.READ: ("DELIVERED", "DELIVERED_TO_HANDSET", "Message delivered to handset"),
    lifecycle.UNDELIVERED: ("UNDELIVERED", "UNDELIVERABLE_NOT_DELIVERED", "Message sent, not delivered"),
    lifecycle.FAILED: ("FAILED", "UNDELIVERABLE_REJECTED", "Message could not be sent"),
    lifecycle.EXPIRED: ("FAILED", "EXPIRED_EXPIRED", "Message expired before it was sent"),
    lifecycle.CANCELED: ("DELETED", "DELETED", "Message deleted"),
}
TEST_STATE = ("TEST", "TEST_MESSAGE", "Test message: validated and priced, not sent")

SENT_LIKE = frozenset({lifecycle.SENT, lifecycle.DELIVERED, lifecycle.READ, lifecycle.UNDELIVERED})
DELIVERED_LIKE = frozenset({lifecycle.DELIVERED, lifecycle.READ})
WAITING = frozenset({lifecycle.DRAFT, lifecycle.SCHEDULED, lifecycle.QUEUED})
BUSY = frozenset({lifecycle.ASSIGNED, lifecycle.TAKEN})

# report.status per canonical state: (id, groupId, groupName)
_REPORT_STATUS = {
    lifecycle.SENT: (7, 1, "PENDING"),
    lifecycle.DELIVERED: (5, 3, "DELIVERED"),
    lifecycle.READ: (5, 3, "DELIVERED"),
    lifecycle.UNDELIVERED: (9, 2, "UNDELIVERABLE"),
    lifecycle.FAILED: (4, 2, "UNDELIVERABLE"),
    lifecycle.EXPIRED: (15, 4, "EXPIRED"),
}


def credit_text(amount: Decimal | None) -> str | None:
    """``Decimal('90.9085')`` -> ``"90.9085"``; ``100.0000`` -> ``"100"``; never float noise."""
    if amount is None:
        return None
    text = f"{amount.quantize(Decimal('0.0001')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def envelope(
    data: Any, message: str, credit: Decimal | None, *, status: int = 200, error: int | None = None
) -> Response:
    body = {
        "data": data,
        "success": error is None,
        "message": message,
        "credit": credit_text(credit),
        "error": error,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


def problem(p: Problem) -> Response:
    """The envelope for what no route answered: the HTTP status is also the ``error`` code,
    but for invalid input (``INVALID_PARAMETER``, 422) and unreadable bodies (400)."""
    code = {422: INVALID_PARAMETER, 400: INVALID_BODY}.get(p.status, p.status)
    message = f"{p.field}: {p.message}" if p.field else p.message
    return envelope(None, message, None, status=p.status, error=code)


def results(n: int) -> str:
    return "1 Result" if n == 1 else f"{n} Results"


def money(amount: Decimal) -> float | int:
    value = float(amount)
    return int(value) if value.is_integer() else value


def number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def ms_text(moment: datetime | None) -> str | None:
    return None if moment is None else str(epoch_ms(moment))


def mongo_date(moment: datetime | None) -> dict | None:
    return None if moment is None else {"$date": {"$numberLong": str(epoch_ms(moment))}}


def short(batch: Any) -> dict:
    """An item of ``GET /messages/``."""
    return {"sender": batch.data.get("sender", ""), "timestamp": ms_text(batch.created_at), "id": batch.public_id}


def state_of(batch: Any, groups: list[Group]) -> int:
    if batch.state == "test":
        return TEST
    if batch.state == "deleted":
        return DELETED
    states = {g.state for g in groups}
    if not states or states <= WAITING:
        return OPEN
    if states & (WAITING | BUSY):
        return SENDING
    return DONE


def message_object(batch: Any, groups: list[Group], account: Account) -> dict:
    """Message_Object of one MessaggiSMS message (a batch), from its per-state counts."""
    data = batch.data
    priority = float(data.get("priority", 1.0))
    if batch.state == "test":
        tests = data.get("test_recipients", [])
        total = len(tests)
        sms_total = sum(r["sms"] for r in tests)
        base = sum((sms_price(account, r["sms"]) for r in tests), Decimal(0))
        price = sum((Decimal(r["price"]) for r in tests), Decimal(0))
        sent = delivered = failed = 0
        last = batch.updated_at
    else:
        total = sum(g.count for g in groups)
        sms_total = sum(g.count * g.segments for g in groups)
        base = sum((sms_price(account, g.segments) * g.count for g in groups), Decimal(0))
        price = sum((g.price for g in groups), Decimal(0))
        sent = sum(g.count for g in groups if g.state in SENT_LIKE)
        delivered = sum(g.count for g in groups if g.state in DELIVERED_LIKE)
        failed = sum(g.count for g in groups if g.state in lifecycle.FAILURES)
        last = max([batch.updated_at, *(g.last_update for g in groups if g.last_update)])
    stored = data.get("options", {})
    options: dict[str, Any] = {
        "flash": bool(stored.get("flash")),
        "realtime": bool(stored.get("realtime")),
        "timestamp_send": str(stored["timestamp_send"]) if stored.get("timestamp_send") is not None
        else ms_text(batch.created_at),
    }
    for key in ("custom", "callback_url", "callback_field"):
        if stored.get(key) is not None:
            options[key] = stored[key]
    invalid = data.get("invalid", [])
    return {
        "test": batch.state == "test",
        "sender": data.get("sender", ""),
        "body": data.get("body", ""),
        "recipients": {"valid": {"count": total}, "invalid": {"total": len(invalid), "list": invalid}},
        "priority": number(priority),
        "options": options,
        "transaction": batch.state == "open",
        "statistics": {"error": failed, "sent": sent, "delivered": delivered, "total": total, "sms_total": sms_total},
        "base_price": money(base),
        "timestamp": ms_text(batch.created_at),
        "last_update": ms_text(last),
        "price": money(price),
        "state": state_of(batch, groups),
        "id": batch.public_id,
    }


def recipient_id(batch: Any, index: int) -> str:
    """24 hex characters: the message's time prefix, then the recipient's own number."""
    return f"{batch.public_id[:8]}{index:016x}"


def _report(batch: Any, row: Any, rid: str) -> dict | None:
    status = _REPORT_STATUS.get(row.state)
    if status is None:
        return None
    state, name, detail = RECIPIENT_STATES[row.state]
    failed = row.state in lifecycle.FAILURES
    report: dict[str, Any] = {
        "price": {"pricePerMessage": money(row.price), "currency": "EUR"},
        "status": {"id": status[0], "groupId": status[1], "groupName": status[2], "name": name, "description": detail},
        "error": {
            "id": 1 if failed else 0,
            "name": (row.reason or "generic").upper() if failed else "NO_ERROR",
            "description": (row.error or row.reason or "failed") if failed else "No Error",
            "groupId": 1 if failed else 0,
            "groupName": "ERROR" if failed else "OK",
            "permanent": failed,
        },
        "messageId": rid,
        "smsCount": row.segments,
        "to": row.recipient.lstrip("+"),
    }
    if row.sent_at is not None:
        report["sentAt"] = row.sent_at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{row.sent_at.microsecond // 1000:03d}+0000"
    done = row.delivered_at or (row.updated_at if row.state in lifecycle.FINAL else None)
    if done is not None:
        report["doneAt"] = done.strftime("%Y-%m-%dT%H:%M:%S.") + f"{done.microsecond // 1000:03d}+0000"
    return report


def recipient_object(batch: Any, row: Any) -> dict:
    """Recipient_Object of one message row."""
    rid = recipient_id(batch, row.id)
    state, description, detail = RECIPIENT_STATES.get(row.state, ("QUEUED", row.state.upper(), row.state))
    if row.state == lifecycle.FAILED and row.reason:
        detail = f"{detail} ({row.reason})"
    charged = row.state != lifecycle.DRAFT
    return {
        "number": row.recipient_raw,
        "prefix": row.recipient_raw.split("-", 1)[0],
        "send_id": f"{batch.public_id}_{row.seq}",
        "body": row.body,
        "sms": row.segments,
        "remaining_chr": count_segments(row.body).remaining,
        "state": state,
        "state_description": description,
        "price": money(row.price),
        "fields": row.fields or [],
        "message_id": batch.public_id,
        "i": row.seq,
        "state_detail": detail,
        "timestamp_sent": mongo_date(row.sent_at),
        "real_cost": money(row.price) if charged else 0,
        "report": _report(batch, row, rid),
        "timestamp_delivery": mongo_date(row.delivered_at),
        "id": rid,
    }


def test_recipient_object(batch: Any, item: dict) -> dict:
    """Recipient_Object of a recipient of a test message (kept in the message, never sent)."""
    state, description, detail = TEST_STATE
    return {
        "number": item["number"],
        "prefix": item["number"].split("-", 1)[0],
        "send_id": f"{batch.public_id}_{item['i']}",
        "body": item["body"],
        "sms": item["sms"],
        "remaining_chr": item["remaining_chr"],
        "state": state,
        "state_description": description,
        "price": money(Decimal(item["price"])),
        "fields": item.get("fields") or [],
        "message_id": batch.public_id,
        "i": item["i"],
        "state_detail": detail,
        "timestamp_sent": None,
        "real_cost": 0,
        "report": None,
        "timestamp_delivery": None,
        "id": recipient_id(batch, item["i"]),
    }
