"""``/dashboard/messages``: the account's messages, filtered and paged by keyset; one message's page; cancel.

Rows of messages still on their way ask for themselves again every few seconds (htmx),
so a state change shows without a reload; a row in a final state stops asking.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from ...core.contacts import campaigns, lists
from ...core.devices import devices
from ...core.messages import lifecycle, listing
from ...core.messages import messages as messages_mod
from ...core.routing import connectors
from .. import forms
from ..sessions import SignedIn, Viewer, core_of
from ..templating import page

router = APIRouter()

SETTLED = lifecycle.FINAL | {lifecycle.DELIVERED}
"""States a row stops polling in (a delivered message may still be read, but rarely soon)."""
CHANNELS = ("sms", "whatsapp", "rcs")
PAGE = 50


def _int(value: str | None) -> int | None:
    if not value or not value.strip().isdigit() or len(value.strip()) > 18:
        return None
    return int(value)


def _day(value: str | None, zone: str, *, end: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` filter as the start (or the end) of that day in the account's time zone."""
    try:
        day = datetime.strptime((value or "").strip(), "%Y-%m-%d").date()
    except ValueError:
        return None
    start = datetime.combine(day, time.min, tzinfo=ZoneInfo(zone))
    return start + timedelta(days=1) if end else start


def filter_of(request: Request, viewer: Viewer) -> tuple[listing.Filter, dict[str, str]]:
    """The list's filter from the query string; what does not parse is ignored, never an error page."""
    q = request.query_params
    shown = {k: q.get(k, "")[:200] for k in ("state", "channel", "device", "connector", "campaign", "list", "from", "to", "number", "q")}
    state = shown["state"] if shown["state"] in lifecycle.STATES else None
    channel = shown["channel"] if shown["channel"] in CHANNELS else None
    flt = listing.Filter(
        state=state, channel=channel, device_id=_int(shown["device"]), connector_id=_int(shown["connector"]),
        campaign_id=_int(shown["campaign"]), list_id=_int(shown["list"]), created_from=_day(shown["from"], viewer.timezone),
        created_before=_day(shown["to"], viewer.timezone, end=True), number=shown["number"] or None,
        text=shown["q"].replace("\x00", "") or None,
    )  # fmt: skip
    return flt, shown


@router.get("/dashboard/messages")
async def message_list(request: Request, viewer: SignedIn) -> Response:
    flt, shown = filter_of(request, viewer)
    before = _int(request.query_params.get("before"))
    core = core_of(request)
    async with core.reader() as unit:
        rows, cursor = await listing.page(unit, viewer.account_id, flt, before=before, limit=PAGE)
        phones = await devices.list_for(unit, viewer.account_id)
        links = await connectors.list_for(unit, viewer.account_id)
        found, _ = await campaigns.list_campaigns(unit, viewer.account_id, limit=100)
        tags, _ = await lists.page(unit, viewer.account_id, limit=200)
    query = urlencode({k: v for k, v in shown.items() if v})
    return page(
        request, viewer, "messages.html", rows=rows, cursor=cursor, shown=shown, states=lifecycle.STATES,
        channels=CHANNELS, phones=phones, connectors=links, campaigns=found, lists=tags, query=query, settled=SETTLED,
        sent=_int(request.query_params.get("sent")),
    )  # fmt: skip


async def _message(request: Request, viewer: Viewer, message_id: int):  # noqa: ANN202
    async with core_of(request).reader() as unit:
        with forms.or_404():
            return await listing.timeline(unit, viewer.account_id, forms.ident(message_id))


@router.get("/dashboard/messages/{message_id}")
async def message_page(message_id: int, request: Request, viewer: SignedIn) -> Response:
    row, steps = await _message(request, viewer, message_id)
    return page(request, viewer, "message.html", m=row, steps=steps, settled=SETTLED, cancelable=lifecycle.PENDING)


@router.get("/dashboard/messages/{message_id}/row")
async def message_row(message_id: int, request: Request, viewer: SignedIn) -> Response:
    """One row of the list, for its poll: the same markup, without polling once settled."""
    row, _ = await _message(request, viewer, message_id)
    return page(request, viewer, "message_row.html", m=row, settled=SETTLED)


@router.get("/dashboard/messages/{message_id}/timeline")
async def message_timeline(message_id: int, request: Request, viewer: SignedIn) -> Response:
    row, steps = await _message(request, viewer, message_id)
    return page(request, viewer, "message_timeline.html", m=row, steps=steps, settled=SETTLED,
                cancelable=lifecycle.PENDING)  # fmt: skip


@router.post("/dashboard/messages/{message_id}/cancel")
async def cancel(message_id: int, request: Request, viewer: SignedIn) -> Response:
    """Cancel while the message has not been taken; afterwards the page says it was too late."""
    await _message(request, viewer, message_id)  # 404 for another account's id
    async with core_of(request).unit() as unit:
        moved = await messages_mod.cancel(unit, viewer.account_id, [message_id])
    if not moved:
        raise HTTPException(409, "Too late to cancel: the message has left the queue")
    return RedirectResponse(f"/dashboard/messages/{message_id}", status_code=303)
