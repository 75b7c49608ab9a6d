"""What each /messages/ route does, in core's terms: a MessaggiSMS message is a core batch.

Every valid recipient becomes one core message (its body filled from its fields);
invalid recipients are only listed. A test message keeps its priced recipients in the
batch and creates no message; an open transaction keeps its messages as drafts.
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from ...core.accounts import billing, quotas
from ...core.contacts import optouts, placeholders
from ...core.errors import Conflict, CreditExpired, InsufficientCredit
from ...core.messages import batches, messages
from ...core.messages.segments import count as count_segments
from ...core.net import guard
from . import parse, render
from .endpoint import Answer, Context
from .errors import (
    ALREADY_HANDED,
    ALREADY_SCHEDULED,
    DELETE_INVALID_ID,
    DELETE_NOT_FOUND,
    INVALID_ID,
    MISSING_PARAMETER,
    NO_VALID_RECIPIENT,
    NOT_ENOUGH_CREDIT,
    NOT_FOUND,
    PUT_INVALID_ID,
    PUT_NOT_FOUND,
    TRANSACTION_CLOSED,
    ApiError,
)
from .render import KIND

REALTIME_PER_MINUTE = 1
_ID = re.compile(r"[0-9a-f]{24}")


def new_id() -> str:
    """24 lowercase hex characters, time first like the provider's ids (so they sort by age)."""
    return f"{int(time.time()) & 0xFFFFFFFF:08x}{secrets.token_hex(8)}"


async def find(ctx: Context, public_id: str, invalid_code: int = INVALID_ID, missing_code: int = NOT_FOUND) -> Any:
    if not _ID.fullmatch(public_id or ""):
        raise ApiError(406, invalid_code, "Invalid Message ID")
    batch = await batches.by_public_id(ctx.unit, ctx.account.id, KIND, public_id)
    if batch is None:
        raise ApiError(404, missing_code, "No message found")
    return batch


async def message_answer(ctx: Context, batch_id: int) -> dict:
    batch = (await batches.by_ids(ctx.unit, [batch_id]))[batch_id]
    return render.message_object(batch, await batches.groups(ctx.unit, batch_id), ctx.account)


def _drafts(recipients: list[parse.Recipient], data: dict) -> list[messages.Draft]:
    stored = data["options"]
    extra = parse.message_extra(stored)
    return [
        messages.Draft(
            recipient=r.e164,
            recipient_raw=r.raw,
            body=placeholders.fill(data["body"], r.fields),
            sender=data["sender"],
            urgent=bool(stored.get("realtime")),
            priority=data["priority"],
            due_at=parse.due_at(stored),
            fields=r.fields or None,
            extra=extra,
        )
        for r in recipients
    ]


async def _without_opted_out(
    ctx: Context, valid: list[parse.Recipient], invalid: list[str]
) -> tuple[list[parse.Recipient], list[str]]:
    """Recipients the account's ``optout_policy`` refuses are listed with the invalid ones (as sent)."""
    refused = await optouts.refused(ctx.unit, ctx.account, [r.e164 for r in valid])
    if not refused:
        return valid, invalid
    return [r for r in valid if r.e164 not in refused], invalid + [r.raw for r in valid if r.e164 in refused]


async def _insufficient(ctx: Context, drafts: list[messages.Draft], exc: Exception) -> ApiError:
    if isinstance(exc, CreditExpired):
        return ApiError(402, NOT_ENOUGH_CREDIT, "Credit expired")
    needed = sum((messages.price_of(ctx.account, d).price for d in drafts), Decimal(0))
    available = (await billing.balance(ctx.unit, ctx.account.id, "sms")).amount
    return ApiError(
        402,
        NOT_ENOUGH_CREDIT,
        f"Current User credit is not enough. {render.credit_text(needed)} needed "
        f"{render.credit_text(available)} \u20ac available",
    )


async def _realtime_quota(ctx: Context, stored: dict) -> None:
    if stored.get("realtime"):
        await quotas.take(ctx.unit, ctx.account.id, "realtime", limit=REALTIME_PER_MINUTE, window=timedelta(minutes=1))


def _test_recipients(ctx: Context, recipients: list[parse.Recipient], data: dict) -> list[dict]:
    found = []
    for i, (r, draft) in enumerate(zip(recipients, _drafts(recipients, data))):
        seg = count_segments(draft.body)
        found.append(
            {
                "i": i,
                "number": r.raw,
                "fields": r.fields or None,
                "body": draft.body,
                "sms": seg.parts,
                "remaining_chr": seg.remaining,
                "price": str(messages.price_of(ctx.account, draft).price),
            }
        )
    return found


async def _check_callback(ctx: Context, stored: dict, given: Any) -> None:
    """A callback URL this request gives must pass core's SSRF guard (422/303 here); kept as the guard writes it.

    The request holds its write transaction already, so a host name is not resolved here
    (the lock would wait on DNS): each delivery's connection is checked instead, and a
    refused one is a failed attempt in the delivery log.
    """
    if isinstance(given, dict) and given.get("callback_url") and stored.get("callback_url"):
        try:
            stored["callback_url"] = await guard.check_callback(stored["callback_url"], ctx.unit.settings, resolve=False)
        except guard.BlockedURL as exc:
            raise parse.invalid(f"'options.callback_url' is not allowed: {exc.message}") from None


async def create(ctx: Context) -> Answer:
    payload = await ctx.body()
    body = parse.body(parse.pick(payload, "body"))
    sender = parse.sender(payload.get("sender"))
    if payload.get("recipients") is None:
        raise ApiError(422, MISSING_PARAMETER, "missing 'recipients' parameter")
    valid, invalid = await _without_opted_out(ctx, *parse.recipients(payload["recipients"]))
    priority = parse.priority(payload.get("priority"))
    test = parse.flag(payload, "test")
    transaction = parse.flag(payload, "transaction")
    stored = parse.options(payload.get("options"), ctx.account.zone)
    if not valid:
        raise ApiError(422, NO_VALID_RECIPIENT, "No valid recipient")
    await _check_callback(ctx, stored, payload.get("options"))
    data = {"sender": sender, "body": body, "priority": priority, "options": stored, "invalid": invalid}
    public_id = new_id()
    if test:
        data["test_recipients"] = _test_recipients(ctx, valid, data)
        batch_id = await messages.open_batch(ctx.unit, ctx.account.id, KIND, public_id=public_id, data=data, state="test")
        return Answer([await message_answer(ctx, batch_id)], "Test Message", 201)
    state = "open" if transaction else "closed"
    if not transaction:
        # Before the batch: on PostgreSQL the quota locks the account row, and a batch
        # row already written holds a key-share lock on it, so two realtime sends at
        # once deadlocked instead of one getting 429.
        await _realtime_quota(ctx, stored)
    batch_id = await messages.open_batch(ctx.unit, ctx.account.id, KIND, public_id=public_id, data=data, state=state)
    drafts = _drafts(valid, data)
    try:
        await messages.submit(ctx.unit, ctx.account, drafts, batch_id=batch_id, hold=transaction)
    except (InsufficientCredit, CreditExpired) as exc:
        raise await _insufficient(ctx, drafts, exc) from None
    message = "Transaction Opened" if transaction else "Message Queued"
    return Answer([await message_answer(ctx, batch_id)], message, 201)


async def update(ctx: Context, public_id: str) -> Answer:
    batch = await find(ctx, public_id, PUT_INVALID_ID, PUT_NOT_FOUND)
    payload = await ctx.body()
    if batch.state == "open":
        await _update_open(ctx, batch, payload)
    else:
        await _update_closed(ctx, batch, payload)
    return Answer(await message_answer(ctx, batch.id), "Updated")


async def _update_open(ctx: Context, batch: Any, payload: dict) -> None:
    data = dict(batch.data)
    data["options"] = parse.options(payload.get("options"), ctx.account.zone, data.get("options"))
    await _check_callback(ctx, data["options"], payload.get("options"))
    if payload.get("recipients") is not None:
        valid, invalid = await _without_opted_out(ctx, *parse.recipients(payload["recipients"]))
        data["invalid"] = list(data.get("invalid", [])) + invalid
        if valid:
            seq = await batches.count_messages(ctx.unit, batch.id)
            await messages.submit(ctx.unit, ctx.account, _drafts(valid, data), batch_id=batch.id, hold=True, seq_start=seq)
    closing = "transaction" in payload and parse.flag(payload, "transaction") is False
    if closing:
        if await batches.count_messages(ctx.unit, batch.id) == 0:
            raise ApiError(422, NO_VALID_RECIPIENT, "No valid recipient")
        stored = data["options"]
        await _realtime_quota(ctx, stored)
        await batches.set_draft_options(
            ctx.unit,
            batch.id,
            urgent=bool(stored.get("realtime")),
            due_at=parse.due_at(stored),
            extra=parse.message_extra(stored),
        )
        try:
            await messages.release(ctx.unit, ctx.account, batch.id)
        except (InsufficientCredit, CreditExpired) as exc:
            drafts = [
                messages.Draft(recipient=r.recipient, body=r.body, priority=r.priority)
                for r in await batches.messages_page(ctx.unit, ctx.account.id, batch.id, offset=0, limit=1_000_000)
            ]
            raise await _insufficient(ctx, drafts, exc) from None
    await batches.change(ctx.unit, batch.id, data=data, state="closed" if closing else None)


async def _update_closed(ctx: Context, batch: Any, payload: dict) -> None:
    if batch.state in ("test", "deleted"):
        what = "a test message" if batch.state == "test" else "a deleted message"
        raise ApiError(422, TRANSACTION_CLOSED, f"Cannot change {what}")
    recipients = payload.get("recipients")
    if recipients not in (None, [], "") or payload.get("transaction") is True:
        raise ApiError(422, TRANSACTION_CLOSED, "Transaction already closed")
    options = payload.get("options")
    if options is None:
        return
    if not isinstance(options, dict):
        raise parse.invalid("'options' must be an object")
    others = set(options) - {"timestamp_send"}
    if others:
        raise ApiError(
            422, ALREADY_HANDED, "Only options.timestamp_send can change once the message is queued"
        )
    if "timestamp_send" not in options:
        return
    data = dict(batch.data)
    data["options"] = parse.options(options, ctx.account.zone, data.get("options"))
    try:
        await batches.reschedule(ctx.unit, batch.id, parse.due_at(data["options"]))
    except Conflict as exc:
        raise ApiError(422, ALREADY_HANDED, exc.message) from None
    await batches.change(ctx.unit, batch.id, data=data)


async def delete(ctx: Context, public_id: str) -> Answer:
    batch = await find(ctx, public_id, DELETE_INVALID_ID, DELETE_NOT_FOUND)
    if batch.state == "deleted":
        raise ApiError(422, ALREADY_SCHEDULED, "message already deleted")
    if batch.state != "test":
        try:
            await batches.cancel(ctx.unit, ctx.account.id, batch.id, before_handover=True)
        except Conflict:
            raise ApiError(422, ALREADY_SCHEDULED, "message already scheduled for sending") from None
    await batches.change(ctx.unit, batch.id, state="deleted")
    return Answer([], f"{public_id} Deleted")


async def list_messages(ctx: Context) -> Answer:
    offset, limit = parse.paging(ctx.request.query_params, default=50)
    rows = await batches.page(ctx.unit, ctx.account.id, KIND, offset=offset, limit=limit)
    return Answer([render.short(r) for r in rows], render.results(len(rows)))


async def get_one(ctx: Context, public_id: str) -> Answer:
    batch = await find(ctx, public_id)
    return Answer([await message_answer(ctx, batch.id)], render.results(1))


async def recipients(ctx: Context, public_id: str) -> Answer:
    batch = await find(ctx, public_id)
    offset, limit = parse.paging(ctx.request.query_params, default=1000)
    if batch.state == "test":
        items = batch.data.get("test_recipients", [])[offset : offset + limit]
        data = [render.test_recipient_object(batch, item) for item in items]
    else:
        rows = await batches.messages_page(ctx.unit, ctx.account.id, batch.id, offset=offset, limit=limit)
        data = [render.recipient_object(batch, r) for r in rows]
    return Answer(data, render.results(len(data)))


async def recipient(ctx: Context, public_id: str, number: str) -> Answer:
    batch = await find(ctx, public_id)
    wanted = [number.strip()]
    e164 = parse.check_number(number)
    if e164:
        wanted.append(e164)
    if batch.state == "test":
        items = [
            i for i in batch.data.get("test_recipients", [])
            if i["number"] in wanted or (e164 and parse.check_number(i["number"]) == e164)
        ]
        data = [render.test_recipient_object(batch, item) for item in items]
    else:
        rows = await batches.messages_to(ctx.unit, ctx.account.id, batch.id, wanted)
        data = [render.recipient_object(batch, r) for r in rows]
    if not data:
        raise ApiError(404, NOT_FOUND, "No recipient found")
    return Answer(data, render.results(len(data)))
