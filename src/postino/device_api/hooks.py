"""The receiver of the app's webhooks: inbound SMS and delivery news from a phone.

``GET /webhooks`` points every phone here (``/api/mobile/v1/hooks/<device id>``). The app
signs each POST with the key ``GET /settings`` gave it: ``X-Signature`` is the hex
HMAC-SHA256 of the body followed by the ``X-Timestamp`` value. Unsigned, wrongly signed
or stale requests are refused before the body is even parsed.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from fastapi import Request, Response

from ..core.devices import devices
from ..core.devices import reports as device_reports
from ..core.messages import inbound
from ..core.service import Core
from .auth import core_of, mark_seen
from .errors import ApiError
from .parse import optional_str, parse_time, read_json
from .routes import our_id, router

MAX_SKEW_SECONDS = 300
STATE_OF_EVENT = {"sms:sent": "Sent", "sms:delivered": "Delivered", "sms:failed": "Failed"}
IGNORED_EVENTS = ("system:ping", "sms:data-received", "mms:received")


def signature(key: str, body: bytes, timestamp: str) -> str:
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


async def _verified_device(core: Core, ext_id: str, request: Request, body: bytes) -> devices.Device:
    given = request.headers.get("x-signature", "").strip().lower()
    stamp = request.headers.get("x-timestamp", "").strip()
    if not given or not stamp:
        raise ApiError(401, "X-Signature and X-Timestamp are required")
    device = None
    if "\x00" not in ext_id:  # no device id holds a NUL (PostgreSQL could not even look it up)
        async with core.reader() as unit:
            device = await devices.by_ext_id(unit, ext_id)
    if device is None or not device.webhook_key:
        raise ApiError(401, "Invalid signature")
    if not hmac.compare_digest(signature(device.webhook_key, body, stamp), given):
        raise ApiError(401, "Invalid signature")
    try:
        sent_at = int(stamp)
    except ValueError as exc:
        raise ApiError(401, "X-Timestamp must be Unix seconds") from exc
    if abs(time.time() - sent_at) > MAX_SKEW_SECONDS:
        raise ApiError(401, "X-Timestamp is too far from the server's time")
    return device


@router.post("/hooks/{ext_id}", status_code=204, summary="Webhook receiver for the phone's sms:* events")
async def receive_hook(ext_id: str, request: Request) -> Response:
    core = core_of(request)
    body = await request.body()
    device = await _verified_device(core, ext_id, request, body)
    data = await read_json(request)
    if not isinstance(data, dict):
        raise ApiError(400, "The webhook body must be a JSON object")
    event = data.get("event")
    payload = data.get("payload") or {}
    if not isinstance(event, str) or not event:
        raise ApiError(400, "event is required")
    if not isinstance(payload, dict):
        raise ApiError(400, "payload must be an object")
    device = await mark_seen(core, device)
    if event == "sms:received":
        await _received(core, device, payload)
    elif event in STATE_OF_EVENT:
        await _state(core, device, event, payload)
    elif event not in IGNORED_EVENTS:
        raise ApiError(400, f"Unknown event {event!r}")
    return Response(status_code=204)


async def _received(core: Core, device: devices.Device, payload: dict) -> None:
    sender = optional_str(payload, "sender", max_len=64) or optional_str(payload, "phoneNumber", max_len=64)
    if not sender:
        raise ApiError(400, "payload.sender (or payload.phoneNumber) is required")
    text = payload.get("message")
    if not isinstance(text, str):
        raise ApiError(400, "payload.message is required and must be a string")
    sim = payload.get("simNumber")
    if sim is not None and (not isinstance(sim, int) or isinstance(sim, bool) or not 1 <= sim <= 6):
        raise ApiError(400, "payload.simNumber must be an integer from 1 to 6")
    message_id = payload.get("messageId")
    if message_id is not None and not isinstance(message_id, (str, int)):
        raise ApiError(400, "payload.messageId must be a string")
    async with core.unit() as unit:
        await inbound.receive(
            unit,
            device,
            sender=sender,
            body=text,
            phone_message_id=str(message_id) if message_id is not None else None,
            recipient=optional_str(payload, "recipient", max_len=64),
            slot=sim - 1 if sim else None,
            received_at=parse_time(payload.get("receivedAt")),
        )


async def _state(core: Core, device: devices.Device, event: str, payload: dict) -> None:
    raw_id = payload.get("messageId")
    if not isinstance(raw_id, (str, int)) or isinstance(raw_id, bool):
        raise ApiError(400, "payload.messageId is required")
    message_id = our_id(raw_id)
    if message_id is None:
        return  # not one of ours
    state = STATE_OF_EVENT[event]
    when = parse_time(payload.get("sentAt") or payload.get("deliveredAt") or payload.get("failedAt"))
    reason = payload.get("reason") if isinstance(payload.get("reason"), str) else None
    report = device_reports.Report(message_id, state, reason, {state: when} if when else {})
    await core.write_now(lambda unit: device_reports.apply(unit, device, [report]))
