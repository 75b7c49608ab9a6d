"""``/messages``: send, list, get, cancel. One SMS Gate message is a core batch of one message per number.

Every number of a request goes to one phone: the one named by ``deviceId``, else the
least loaded of the account's phones (seen within ``deviceActiveWithin`` hours when
given). The user's id (or one made here) is kept in the batch's data; its public id is
derived from it and the account, so two accounts may use the same id.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ...core.clock import utcnow
from ...core.contacts import optouts
from ...core.devices import devices
from ...core.errors import Conflict, CreditExpired, InsufficientCredit, InvalidInput, NoRoute
from ...core.messages import batch_search, batches, messages
from ...core.messages.numbers import normalise
from ...core.routing import default as routing
from ...core.accounts import secrets
from . import parse, render
from .endpoint import Answer, Context
from .errors import ApiError

MAX_NUMBERS = 100
MAX_ID = 36


def location(ctx: Context, message_id: str) -> str:
    path = ctx.request.url.path.rstrip("/")
    return f"{path}/{message_id}"


async def find(ctx: Context, message_id: str) -> Any:
    if not message_id or len(message_id) > MAX_ID:
        raise ApiError(404, "message not found")
    batch = await batches.by_public_id(ctx.unit, ctx.account.id, render.KIND, render.public_id(ctx.account.id, message_id))
    if batch is None:
        raise ApiError(404, "message not found")
    return batch


async def state_of(ctx: Context, batch: Any, *, content: bool = True) -> dict[str, Any]:
    rows = (await batch_search.messages_of(ctx.unit, [batch.id]))[batch.id]
    events = await batch_search.events_of(ctx.unit, [r.id for r in rows])
    return render.message_state(batch, rows, events, content=content)


def _content(payload: dict) -> str:
    given = [k for k in ("textMessage", "dataMessage", "message") if payload.get(k) is not None]
    if len(given) != 1:
        raise ApiError(400, "exactly one of textMessage, dataMessage or message is required")
    if given[0] == "dataMessage":
        raise ApiError(400, "dataMessage is not supported: Postino's phones send text messages")
    if given[0] == "textMessage":
        inner = payload["textMessage"]
        if not isinstance(inner, dict):
            raise ApiError(400, "textMessage must be an object")
        return parse.text(inner.get("text"), "textMessage.text", messages.MAX_BODY, required=True) or ""
    return parse.text(payload["message"], "message", messages.MAX_BODY, required=True) or ""


def _numbers(ctx: Context, payload: dict, *, validate: bool) -> list[tuple[str, str]]:
    raw = payload.get("phoneNumbers")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_NUMBERS or not all(isinstance(n, str) and n.strip() for n in raw):
        raise ApiError(400, f"phoneNumbers must be a list of 1 to {MAX_NUMBERS} phone numbers")
    if len(set(raw)) != len(raw):
        raise ApiError(400, "phoneNumbers must be unique")
    found = []
    for number in raw:
        if validate:
            try:
                found.append((normalise(number, ctx.account.country), number))
            except InvalidInput:
                raise ApiError(400, f"invalid phone number: {number}") from None
        else:
            found.append((number.strip()[:64], number))
    return found


async def _target(ctx: Context, payload: dict, sim: int | None) -> tuple[devices.Device, int]:
    device_ext = parse.text(payload.get("deviceId"), "deviceId", 64)
    if device_ext:
        device = await devices.by_ext_id(ctx.unit, device_ext)
        if device is None or device.account_id != ctx.account.id:
            raise ApiError(400, "device not found")
    else:
        hours = parse.integer(ctx.query.get("deviceActiveWithin"), "deviceActiveWithin", 0, 24 * 365, 0)
        try:
            (target,) = await routing.plan(
                ctx.unit, ctx.account.id, "sms", 1, active_within=timedelta(hours=hours) if hours else None
            )
        except NoRoute:
            raise ApiError(400, "no device can send this message") from None
        device = await devices.get(ctx.unit, ctx.account.id, target.device_id)
    sms_slots = [s for s, channel in sorted(device.slots().items()) if channel == "sms"]
    if sim is not None:
        if sim - 1 not in sms_slots:
            raise ApiError(400, f"the device has no SIM card {sim}")
        return device, sim - 1
    if not sms_slots:
        raise ApiError(400, "the device has no SIM card")
    return device, sms_slots[0]


async def send(ctx: Context) -> Answer:
    payload = await ctx.body()
    message_id = parse.text(payload.get("id"), "id", MAX_ID) or secrets.token_urlsafe_chars(21)
    text = _content(payload)
    encrypted = parse.flag(payload.get("isEncrypted"), "isEncrypted")
    skip = parse.flag(ctx.query.get("skipPhoneValidation"), "skipPhoneValidation")
    numbers = _numbers(ctx, payload, validate=not (skip or encrypted))
    sim = parse.integer(payload.get("simNumber"), "simNumber", 1, 3)
    priority = parse.integer(payload.get("priority"), "priority", -128, 127, 0) or 0
    with_report = parse.flag(payload.get("withDeliveryReport"), "withDeliveryReport", True)
    ttl = parse.integer(payload.get("ttl"), "ttl", 5, 10 * 365 * 86400)
    valid_until = parse.timestamp(payload.get("validUntil"), "validUntil")
    if ttl is not None and valid_until is not None:
        raise ApiError(400, "ttl and validUntil cannot be given together")
    now = utcnow()
    if ttl is not None:
        valid_until = now + timedelta(seconds=ttl)
    elif valid_until is not None and valid_until <= now:
        raise ApiError(400, "validUntil must be in the future")
    schedule_at = parse.timestamp(payload.get("scheduleAt"), "scheduleAt")
    if schedule_at is not None and schedule_at <= now:
        raise ApiError(400, "scheduleAt must be in the future")
    pid = render.public_id(ctx.account.id, message_id)
    if await batches.by_public_id(ctx.unit, ctx.account.id, render.KIND, pid) is not None:
        raise ApiError(409, f"message with id {message_id} already exists")
    refused = await optouts.refused(ctx.unit, ctx.account, [e164 for e164, _raw in numbers])
    if refused:
        raise ApiError(400, f"recipient has opted out: {next(raw for e164, raw in numbers if e164 in refused)}")
    device, slot = await _target(ctx, payload, sim)
    data = {
        "id": message_id,
        "deviceId": device.ext_id,
        "isEncrypted": encrypted,
        "withDeliveryReport": with_report,
        "priority": priority,
        "simNumber": sim,
    }
    batch_id = await messages.open_batch(ctx.unit, ctx.account.id, render.KIND, public_id=pid, data=data, state="closed")
    drafts = [
        messages.Draft(
            recipient=e164,
            recipient_raw=raw,
            body=text,
            device_id=device.id,
            slot=slot,
            urgent=priority >= 100,
            due_at=schedule_at,
            valid_until=valid_until,
        )
        for e164, raw in numbers
    ]
    try:
        await messages.submit(ctx.unit, ctx.account, drafts, batch_id=batch_id)
    except (InsufficientCredit, CreditExpired) as exc:
        raise ApiError(400, exc.message) from None
    batch = (await batches.by_ids(ctx.unit, [batch_id]))[batch_id]
    return Answer(await state_of(ctx, batch), 202, {"Location": location(ctx, message_id)})


async def get_one(ctx: Context, message_id: str) -> Answer:
    return Answer(await state_of(ctx, await find(ctx, message_id)))


async def cancel(ctx: Context, message_id: str) -> Answer:
    batch = await find(ctx, message_id)
    try:
        await batches.cancel(ctx.unit, ctx.account.id, batch.id)
    except Conflict:
        raise ApiError(409, "message already processed: it can no longer be cancelled") from None
    return Answer(await state_of(ctx, batch))


SORTS = {"created_at": False, "-created_at": True}


async def list_messages(ctx: Context) -> Answer:
    q = ctx.query
    limit = parse.integer(q.get("limit"), "limit", 1, 100, 50) or 50
    offset = parse.integer(q.get("offset"), "offset", 0, 2**31, 0) or 0
    sort = q.get("sort") or "-created_at"
    if sort not in SORTS:
        raise ApiError(400, "sort must be created_at or -created_at")
    state = q.get("state") or None
    with_states = without_states = None
    if state is not None:
        if state not in (*render.CANONICAL, render.CANCELLING):
            raise ApiError(400, f"unknown state {state}")
        with_states, without_states = render.filter_for(state)
    device_id = None
    if q.get("deviceId"):
        device = await devices.by_ext_id(ctx.unit, q["deviceId"])
        if device is None or device.account_id != ctx.account.id:
            return Answer([], headers={"X-Total-Count": "0"})
        device_id = device.id
    found = await batch_search.search(
        ctx.unit,
        ctx.account.id,
        render.KIND,
        created_from=parse.timestamp(q.get("from"), "from"),
        created_before=parse.timestamp(q.get("to"), "to"),
        device_id=device_id,
        with_states=with_states,
        without_states=without_states,
        newest_first=SORTS[sort],
        offset=offset,
        limit=limit,
    )
    content = parse.flag(q.get("includeContent"), "includeContent")
    by_batch = await batch_search.messages_of(ctx.unit, [b.id for b in found.rows])
    events = await batch_search.events_of(ctx.unit, [r.id for rows in by_batch.values() for r in rows])
    states = [render.message_state(b, by_batch[b.id], events, content=content) for b in found.rows]
    return Answer(states, headers={"X-Total-Count": str(found.total)})
