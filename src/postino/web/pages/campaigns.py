"""``/dashboard/campaigns``: campaigns with counts that move as they run; create, pause, resume, cancel.

The counts of a campaign still running are a fragment that asks for itself again every
few seconds; a campaign that is over stops asking. Creating one shows the body as the
first contact of its lists will read it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from ...core.contacts import campaigns, contacts, lists, placeholders
from ...core.devices import devices
from ...core.errors import DomainError, NotFound
from ...core.service import Unit
from .. import forms
from ..sessions import SignedIn, Viewer, core_of
from ..templating import page

router = APIRouter()
ACTIONS = {"pause": campaigns.pause, "resume": campaigns.resume, "cancel": campaigns.cancel}


async def _with_counts(unit: Unit, found: list[campaigns.Campaign]) -> list[tuple[campaigns.Campaign, dict[str, int]]]:
    return [(c, await campaigns.counts(unit, c)) for c in found]


async def _page(request: Request, viewer: Viewer, *, status_code: int = 200, error: str = "",
                values: dict | None = None) -> Response:  # fmt: skip
    async with core_of(request).reader() as unit:
        found, _ = await campaigns.list_campaigns(unit, viewer.account_id, limit=50)
        rows = await _with_counts(unit, found)
        tags, _ = await lists.page(unit, viewer.account_id, limit=lists.MAX_PAGE)
        phones = await devices.list_for(unit, viewer.account_id)
    return page(request, viewer, "campaigns.html", status_code=status_code, rows=rows, lists=tags, phones=phones,
                error=error, values=values or {}, over=campaigns.OVER, counted=campaigns.COUNTED)  # fmt: skip


@router.get("/dashboard/campaigns")
async def campaigns_page(request: Request, viewer: SignedIn) -> Response:
    return await _page(request, viewer)


def _list_ids(form: FormData) -> list[int]:
    found = []
    for value in form.getlist("lists"):
        if not isinstance(value, str) or not value.isdigit() or len(value) > 18:
            raise forms.FormError("Unknown list", field="lists")
        found.append(int(value))
    return found


async def _through(unit: Unit, viewer: Viewer, form: FormData) -> tuple[int | None, int]:
    through = forms.text(form, "through", max_length=40) or "routes"
    if through == "routes":
        return None, 0
    device_text, _, slot_text = through.partition(":")
    if not (device_text.isdigit() and slot_text.isdigit() and len(device_text) < 19):
        raise forms.FormError("Choose a phone and slot, or the routes", field="through")
    try:
        await devices.get(unit, viewer.account_id, int(device_text))
    except NotFound:
        raise forms.FormError("Choose a phone and slot, or the routes", field="through") from None
    return int(device_text), int(slot_text)


@router.get("/dashboard/campaigns/rows")
async def campaign_rows(request: Request, viewer: SignedIn) -> Response:
    """The list's rows, for their poll while a campaign runs."""
    async with core_of(request).reader() as unit:
        found, _ = await campaigns.list_campaigns(unit, viewer.account_id, limit=50)
        rows = await _with_counts(unit, found)
    return page(request, viewer, "campaign_rows.html", rows=rows, over=campaigns.OVER, counted=campaigns.COUNTED)


@router.post("/dashboard/campaigns/preview")
async def preview(request: Request, viewer: SignedIn) -> Response:
    """The body filled in for the first contact of the chosen lists."""
    form = await forms.read(request)
    body = str(form.get("body") or "")[:10_000]
    shown = body
    try:
        ids = _list_ids(form)
        async with core_of(request).reader() as unit:
            first = await contacts.contacts_of_tags(unit, viewer.account_id, ids, limit=1) if ids else []
    except DomainError:
        first = []
    if first:
        shown = placeholders.fill(body, placeholders.contact_values(first[0].phone, first[0].fullname, first[0].fields))
    return page(request, viewer, "campaign_preview.html", shown=shown, contact=first[0] if first else None)


@router.post("/dashboard/campaigns")
async def create(request: Request, viewer: SignedIn) -> Response:
    form = await forms.read(request)
    try:
        async with core_of(request).unit() as unit:
            device_id, slot = await _through(unit, viewer, form)
            campaign, _woken = await campaigns.create_campaign(
                unit, viewer.account_id, title=forms.text(form, "title", max_length=200),
                body=forms.text(form, "body", max_length=10_000), tag_ids=_list_ids(form), device_id=device_id,
                slot=slot, send_at=forms.local_time(form, "at", viewer.timezone),
                pace=forms.number(form, "pace", low=1, high=campaigns.MAX_PACE),
            )  # fmt: skip
    except DomainError as exc:
        values = {k: v for k, v in form.multi_items() if isinstance(v, str) and k != "csrf_token"}
        return await _page(request, viewer, status_code=422, error=forms.message_of(exc), values=values)
    return RedirectResponse(f"/dashboard/campaigns/{campaign.id}", status_code=303)


async def _one(request: Request, viewer: Viewer, campaign_id: int) -> tuple[campaigns.Campaign, dict[str, int]]:
    async with core_of(request).reader() as unit:
        with forms.or_404():
            campaign = await campaigns.get_campaign(unit, viewer.account_id, forms.ident(campaign_id))
        return campaign, await campaigns.counts(unit, campaign)


@router.get("/dashboard/campaigns/{campaign_id}")
async def campaign_page(campaign_id: int, request: Request, viewer: SignedIn) -> Response:
    campaign, counted = await _one(request, viewer, campaign_id)
    return page(request, viewer, "campaign.html", c=campaign, counts=counted, over=campaigns.OVER,
                counted=campaigns.COUNTED, error="")  # fmt: skip


@router.get("/dashboard/campaigns/{campaign_id}/counts")
async def campaign_counts(campaign_id: int, request: Request, viewer: SignedIn) -> Response:
    campaign, counted = await _one(request, viewer, campaign_id)
    return page(request, viewer, "campaign_counts.html", c=campaign, counts=counted, over=campaigns.OVER,
                counted=campaigns.COUNTED)  # fmt: skip


@router.post("/dashboard/campaigns/{campaign_id}/{action}")
async def control(campaign_id: int, action: str, request: Request, viewer: SignedIn) -> Response:
    act = ACTIONS.get(action)
    if act is None:
        with forms.or_404():
            raise NotFound("No such action")
    try:
        async with core_of(request).unit() as unit:
            with forms.or_404():
                await act(unit, viewer.account_id, forms.ident(campaign_id))
    except DomainError as exc:
        campaign, counted = await _one(request, viewer, campaign_id)
        return page(request, viewer, "campaign.html", status_code=409, c=campaign, counts=counted,
                    over=campaigns.OVER, counted=campaigns.COUNTED, error=forms.message_of(exc))  # fmt: skip
    return RedirectResponse(f"/dashboard/campaigns/{campaign_id}", status_code=303)
