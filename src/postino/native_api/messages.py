"""``/api/v1/messages``: send what no dialect can express, and see one message whole.

``POST`` takes a WhatsApp **template** (name, language, components with parameters: what
Meta requires to write first or after 24 h of silence) besides plain text, routed like
any send. ``GET /{id}`` shows what no dialect does: the connector or phone it went
through, its raw error, every state change with its time, and the channel-fallback link
both ways (``fallback``: the SMS sent in its place; ``fallback_of``: the WhatsApp message
an SMS stands in for).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Body, Request
from pydantic import BaseModel, Field, ValidationError

from ..core.accounts import accounts
from ..core.errors import DomainError, InvalidInput
from ..core.messages import listing, messages, numbers
from ..core.routing import fallback
from ..core.service import Core
from ..http import JSONResponse
from .common import AuthHeader, auth, error, known_id, resource_router

router = resource_router("messages", tag="messages")


class Template(BaseModel, extra="forbid"):
    name: str = Field(min_length=1, max_length=512, pattern=r"^[a-z0-9_]+$")
    language: str = Field(min_length=2, max_length=15, pattern=r"^[A-Za-z]{2,3}(_[A-Za-z]{2,4})?$")
    components: list[dict[str, Any]] = Field(default_factory=list, max_length=10)


class Send(BaseModel, extra="forbid"):
    to: str = Field(min_length=3, max_length=64, description="The recipient; national numbers read with the account's country.")
    channel: str = Field(default="sms", pattern="^(sms|whatsapp)$")
    text: str = Field(default="", max_length=messages.MAX_BODY)
    template: Template | None = Field(default=None, description="WhatsApp only: a template approved for the business number.")
    urgent: bool = False


_SEND_EXAMPLE = {
    "to": "+6281234567890", "channel": "whatsapp",
    "template": {"name": "order_update", "language": "id", "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "A-1042"}]}]},
}  # fmt: skip


def _draft(send: Send, country: str) -> messages.Draft:
    if send.template is not None and send.channel != "whatsapp":
        raise InvalidInput("A template is sent on the whatsapp channel", field="template")
    if send.template is None and not send.text.strip():
        raise InvalidInput("text or template is required", field="text")
    if "\x00" in send.text or "\x00" in send.to:
        raise InvalidInput("text may not hold a NUL character", field="text")
    recipient = numbers.normalise(send.to, country)
    extra = {"template": send.template.model_dump()} if send.template is not None else None
    body = (send.text or f"[template {send.template.name}]") if send.template is not None else send.text
    return messages.Draft(recipient=recipient, recipient_raw=send.to, body=body, channel=send.channel,
                          urgent=send.urgent, extra=extra)  # fmt: skip


@router.post("/messages", status_code=201, summary="Send one message (text, or a WhatsApp template), routed")
async def send_message(
    request: Request, body: Annotated[dict, Body(examples=[_SEND_EXAMPLE])], authorization: AuthHeader = None
) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:write")
        try:
            send = Send.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidInput(str(first.get("msg")), field=".".join(str(p) for p in first.get("loc", ()))) from None
        async with core.unit() as unit:
            account = await accounts.get(unit, credential.account_id)
            accepted = await messages.submit(unit, account, [_draft(send, account.country)])
    except DomainError as exc:
        return error(exc)
    return JSONResponse({"id": accepted.ids[0], "state": accepted.states[0]}, status_code=201)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


@router.get("/messages/{message_id}", summary="One message: its route, its timeline, its fallback")
async def get_message(message_id: int, request: Request, authorization: AuthHeader = None) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:read")
        known_id(message_id, "Message")
        async with core.reader() as unit:
            row, steps = await listing.timeline(unit, credential.account_id, message_id)
            link = (await fallback.links(unit, credential.account_id, [message_id])).get(message_id, {})
    except DomainError as exc:
        return error(exc)
    shown: dict[str, Any] = {
        "id": row.id, "direction": row.direction, "channel": row.channel, "recipient": row.recipient,
        "sender": row.sender or None, "body": row.body, "media_url": row.media_url, "state": row.state,
        "reason": row.reason, "error": row.error, "device_id": row.device_id, "slot": row.slot,
        "connector_id": row.connector_id, "segments": row.segments, "price": str(row.price), "product": row.product,
        "created_at": _iso(row.created_at), "sent_at": _iso(row.sent_at), "delivered_at": _iso(row.delivered_at),
        "read_at": _iso(row.read_at),
        "events": [{"state": s.state, "at": _iso(s.at), "detail": s.detail} for s in steps],
        "fallback_of": link.get("fallback_of"),
        "fallback": None,
    }  # fmt: skip
    if "fallback" in link:
        found = link["fallback"]
        shown["fallback"] = {
            "channel": found["channel"], "state": found["state"], "message_id": found["message_id"],
            "due_at": _iso(found["due_at"]), "detail": found["detail"] or None,
        }  # fmt: skip
    return JSONResponse(shown)
