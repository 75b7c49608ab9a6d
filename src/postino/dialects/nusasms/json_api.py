"""``/nusasms_api/1.0/``: account, balance, WhatsApp messages and media, phone check."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ...core.accounts import accounts, billing, credentials
from ...core.accounts.accounts import Account
from ...core.accounts.credentials import Credential
from ...core.accounts.ratelimit import limiter_for
from ...core.clock import utcnow
from ...core.contacts import optouts
from ...core.errors import AuthError, CreditExpired, InsufficientCredit, InvalidInput, NoRoute
from ...core.events import outbox, webhooks
from ...core.messages import lifecycle, messages, numbers, references
from ...core.net import fetch, guard, media
from ...core.routing import fallback, whatsapp
from . import schemas
from .bodies import json_api_body
from .render import WA_STATUS, NusaError, date, envelope, invalid, number, timestamp

router = APIRouter(prefix="/nusasms_api/1.0", tags=["NusaSMS JSON API"])

KB = 1024
IMAGE_TYPES = {"image/jpeg", "image/png", "application/pdf"}
VIDEO_TYPES = {"video/mp4", "video/webm"}
LIMITS = {**{t: 512 * KB for t in IMAGE_TYPES}, **{t: 1024 * KB for t in VIDEO_TYPES}}
LIMIT_TEXT = {512 * KB: "512 KB", 1024 * KB: "1 MB"}
TYPE_MESSAGE = "Invalid file type (allowed: jpg, jpeg, png, pdf, webm, mp4)"
FETCH_TIMEOUT = 10.0
PHONE_CHECK_EVENT = "wa_phone_check.done"


@dataclass(frozen=True)
class Caller:
    account: Account
    credential: Credential


async def caller(request: Request) -> Caller:
    """Rate limit first (by key), then the ``APIKey`` header -> the account."""
    core = request.app.state.core
    key = request.headers.get("apikey", "").strip()
    verdict = await limiter_for(core, core.settings).hit(
        "nusasms", key or f"ip:{request.client.host if request.client else ''}"
    )
    if not verdict.allowed:
        raise NusaError(
            429, "Too many requests: at most one request per 50 ms",
            headers={"Retry-After": str(max(1, round(verdict.retry_after + 0.5)))},
        )
    if not key:
        raise NusaError(401, "Missing API key")
    try:
        async with core.reader() as unit:
            credential = await credentials.resolve(unit, key, ("api_key",))
            account = await accounts.get(unit, credential.account_id)
    except AuthError:
        raise NusaError(401, "Invalid API key") from None
    return Caller(account, credential)


def _report_extra(account: Account, extra: dict[str, Any]) -> dict[str, Any]:
    push = account.settings.get("push_url")
    if push:
        extra.update(report_url=push, report_format="nusasms")
    return extra


@router.get("/auth/api_key", summary="Get user data using API Key")
async def auth_api_key(who: Caller = Depends(caller)) -> JSONResponse:
    return envelope({"userid": who.account.email, "idPerson": who.credential.id, "idClient": who.account.id})


@router.get("/balance", summary="Get Balance Data")
async def balance(request: Request, who: Caller = Depends(caller)) -> JSONResponse:
    async with request.app.state.core.reader() as unit:
        found = await billing.all_balances(unit, who.account.id)
    data: dict[str, Any] = {"idClient": who.account.id}
    for product in ("wa", "hlr", "sim", "sms"):
        data[f"{product}_balance"] = number(found[product].amount)
        data[f"{product}_expired_date"] = date(found[product].expires_at)
    data["pulsa_balance"] = number(found["pulsa"].amount)
    return envelope(data)


def _destination(account: Account, params: schemas._Send) -> str:
    """The stored recipient: a group id as given, a phone number in E.164."""
    if params.is_group:
        return params.destination
    try:
        return numbers.normalise(params.destination, account.country)
    except InvalidInput:
        raise invalid("destination", "Invalid destination format") from None


def _shown(recipient: str) -> str:
    return numbers.digits(recipient) if recipient.startswith("+") else recipient


async def _send(
    request: Request, who: Caller, params: schemas._Send, *, body: str, extra: dict[str, Any],
    media_data: bytes | None = None, file_name: str = "",
) -> tuple[int, str, str | None]:
    """Charge, store and queue one WhatsApp message (and its file) in one transaction.

    Returns the message id, the sender number used and the stored file's URL.
    """
    core = request.app.state.core
    recipient = _destination(who.account, params)
    if not params.is_group and optouts.policy(who.account) == "all":
        async with core.reader() as unit:
            if await optouts.refused(unit, who.account, [recipient]):
                raise NusaError(422, optouts.REFUSAL)
    valid_until = utcnow() + timedelta(seconds=params.timeout) if params.timeout else None
    extra = _report_extra(who.account, {"is_group": params.is_group, **extra})
    try:
        async with core.unit() as unit:
            sender = await whatsapp.sender_for(unit, who.account.id, params.sender, recipient)
            media_url = None
            if media_data is not None:
                stored = await media.store(
                    unit, who.account.id, media_data, allowed=set(LIMITS), max_bytes=max(LIMITS.values()),
                    file_name=file_name,
                )  # fmt: skip
                media_url = stored.url
            draft = sender.apply(messages.Draft(
                recipient=recipient, recipient_raw=params.destination, body=body, channel="whatsapp",
                media_url=media_url, valid_until=valid_until, extra=extra,
            ))  # fmt: skip
            accepted = await messages.submit(unit, who.account, [draft], refund_on_failure=True)
    except whatsapp.UnknownSender:
        raise NusaError(400, "Invalid WA Sender") from None
    except NoRoute:
        raise NusaError(400, "No WA sender available") from None
    except InsufficientCredit:
        raise NusaError(402, "Not enough WA credit") from None
    except CreditExpired:
        raise NusaError(402, "WA balance expired") from None
    except InvalidInput as exc:
        raise invalid(exc.field or "message", exc.message) from None
    return accepted.ids[0], sender.number, media_url


@router.post("/whatsapp/message", status_code=201, summary="Send Message")
async def send_message(request: Request, who: Caller = Depends(caller)) -> JSONResponse:
    params = schemas.parse(schemas.SendMessageParams, await json_api_body(request))
    text = schemas.unescape(params.message)
    message_id, sender, _ = await _send(request, who, params, body=text, extra={})
    data = {
        "sender": sender or None, "destination": _shown(_destination(who.account, params)), "message": text,
        "ref_no": str(message_id), "queue": "Q",
    }  # fmt: skip
    return envelope(data, "Message queued", 201)


def _decode_base64(value: str) -> bytes:
    payload = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    try:
        return base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise invalid("media_base64", "Invalid base64 data") from None


def _limit_message(limit: int) -> str:
    return f"File exceed limits (max {LIMIT_TEXT[limit]})"


def _check_file(data: bytes) -> str:
    """The file's type from its bytes, refused when not allowed or over its type's cap."""
    kind = media.sniff(data)
    if kind not in LIMITS:
        raise NusaError(400, TYPE_MESSAGE)
    if len(data) > LIMITS[kind]:
        raise NusaError(400, _limit_message(LIMITS[kind]))
    return kind


async def _fetch_media(request: Request, url: str) -> bytes:
    settings = request.app.state.settings
    try:
        fetched = await fetch.fetch(
            url, policy=guard.Policy.of(settings), max_bytes=max(LIMITS.values()), timeout=FETCH_TIMEOUT
        )
    except fetch.TooLarge as exc:
        kind = media.sniff(exc.head)
        if kind is not None and kind not in LIMITS:
            raise NusaError(400, TYPE_MESSAGE) from None
        raise NusaError(400, _limit_message(LIMITS.get(kind or "", max(LIMITS.values())))) from None
    except InvalidInput as exc:  # blocked address, unreachable, HTTP error, timeout
        raise NusaError(400, f"Cannot use media_url: {exc.message}") from None
    return fetched.data


@router.post("/whatsapp/media", status_code=201, summary="Send Media")
async def send_media(request: Request, who: Caller = Depends(caller)) -> JSONResponse:
    params = schemas.parse(schemas.SendMediaParams, await json_api_body(request))
    if params.media_base64:
        data = _decode_base64(params.media_base64)
    elif params.media_url:
        data = await _fetch_media(request, params.media_url)
    else:
        raise invalid("media_url", "media_url or media_base64 is required", "missing")
    _check_file(data)
    caption = schemas.unescape(params.caption or "")
    source = params.media_url if not params.media_base64 else None
    extra = {"caption": caption, "file_name": params.file_name or ""}
    if source:
        extra["media_source"] = source
    message_id, sender, stored_url = await _send(
        request, who, params, body=caption, extra=extra, media_data=data, file_name=params.file_name or ""
    )
    shown_url = source or stored_url
    data = {
        "sender": sender or None, "destination": _shown(_destination(who.account, params)), "caption": caption,
        "media_url": shown_url, "ref_no": str(message_id),
    }  # fmt: skip
    return envelope(data, "Media queued", 201)


@router.get("/whatsapp/status/{ref_no}", summary="Message Info")
async def message_status(ref_no: str, request: Request, who: Caller = Depends(caller)) -> JSONResponse:
    row = stand_in = None
    if "\x00" not in ref_no:  # no reference holds a NUL (PostgreSQL could not even look it up)
        async with request.app.state.core.reader() as unit:
            row = await references.find(unit, who.account.id, ref_no)
            if row is not None:
                stand_in = (await fallback.stand_ins(unit, [row.id])).get(row.id)
    if row is None or row.direction != "out":
        raise NusaError(404, "Message not found")
    extra = row.extra or {}
    is_media = bool(row.media_url)
    # Sent again as SMS (channel fallback): the pair's outcome is the SMS's.
    outcome = stand_in if stand_in is not None else row
    data = {
        "destination": _shown(row.recipient),
        "sender": row.sender or None,
        "is_group": bool(extra.get("is_group", False)),
        "create_date": timestamp(row.created_at),
        "sent_date": timestamp(row.sent_at),
        "read_date": timestamp(row.read_at),
        "delivered_date": timestamp(
            outcome.delivered_at or (outcome.read_at if outcome.state == lifecycle.READ else None)
        ),
        "ref_no": row.customer_id or str(row.id),
        "status": WA_STATUS.get(outcome.state, "F"),
        "message": None if is_media else row.body,
        "caption": extra.get("caption") if is_media else None,
        "media_url": extra.get("media_source", row.media_url) if is_media else None,
    }
    if stand_in is not None:
        data["fallback"] = {"channel": stand_in.channel, "ref_no": str(stand_in.id),
                            "status": WA_STATUS.get(stand_in.state, "F")}  # fmt: skip
    return envelope(data)


@router.post("/wa_phone_check", status_code=201, summary="Check Wa Phone Number")
async def wa_phone_check(request: Request, who: Caller = Depends(caller)) -> JSONResponse:
    """Accepted at once; the results are POSTed to ``callback_url`` by the outbox worker."""
    params = schemas.parse(schemas.WAPhoneCheckParams, await json_api_body(request))
    callback_url = None
    if params.callback_url:
        try:
            callback_url = await guard.check_callback(params.callback_url, request.app.state.core.settings)
        except guard.BlockedURL as exc:
            raise invalid("callback_url", f"Invalid callback_url: {exc.message}") from None
    async with request.app.state.core.unit() as unit:
        known = await whatsapp.known(unit, who.account.id, params.phone_numbers)
        results = [
            {"phone_number": n, "status": "valid" if known.get(numbers.digits(n), whatsapp.reachable(n)) else "invalid"}
            for n in params.phone_numbers
        ]
        if callback_url:
            await outbox.enqueue(
                unit, account_id=who.account.id, event=PHONE_CHECK_EVENT, url=callback_url,
                payload={"results": results},
            )  # fmt: skip
        await webhooks.emit(unit, who.account.id, webhooks.WA_PHONE_CHECK_DONE, {"results": results})
    return envelope(None, "Phone check queued", 201)
