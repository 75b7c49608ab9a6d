"""``/api/v1/messages/{id}``: one message as Postino sees it, whichever dialect accepted it.

What no dialect shows: the connector or phone it went through, its raw error, every state
change with its time, and the channel-fallback link both ways (``fallback``: the SMS sent
in its place; ``fallback_of``: the WhatsApp message an SMS stands in for).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request

from ..core.errors import DomainError
from ..core.messages import listing
from ..core.routing import fallback
from ..core.service import Core
from ..http import JSONResponse
from .common import AuthHeader, auth, error, known_id

router = APIRouter(prefix="/api/v1", tags=["messages"])


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
