"""``/dashboard/phones``: each phone's state, SIMs, queue and sending delays; adding a phone.

"Add a phone" issues a fresh registration token (shown once, as every secret) and a
one-time code, and draws a QR code of what the app's *Cloud Server* settings ask for:
the API URL and the token, one per line.
"""

from __future__ import annotations

import segno
from fastapi import APIRouter, Request
from markupsafe import Markup
from starlette.responses import RedirectResponse, Response

from ...core.accounts import credentials, user_codes
from ...core.devices import devices, presence
from ...core.errors import DomainError
from .. import forms
from ..sessions import SignedIn, Viewer, core_of
from ..templating import page

router = APIRouter()
MAX_DELAY = 3600


def qr_svg(text: str) -> Markup:
    """The QR code of ``text`` as inline SVG (no image request, nothing to cache)."""
    code = segno.make(text, error="m")
    svg = code.svg_inline(scale=4, border=2, omitsize=True, title="QR code: API URL and registration token")
    return Markup(svg)


def api_url(request: Request) -> str:
    public = core_of(request).settings.public_url.rstrip("/")
    base = public or str(request.base_url).rstrip("/")
    return f"{base}/api/mobile/v1"


async def _page(request: Request, viewer: Viewer, *, status_code: int = 200, **extra: object) -> Response:
    core = core_of(request)
    async with core.reader() as unit:
        phones = await devices.list_for(unit, viewer.account_id)
        queued = await devices.queued_counts(unit, [p.id for p in phones])
    extra.setdefault("error", "")
    extra.setdefault("added", None)
    return page(request, viewer, "phones.html", status_code=status_code, phones=phones, queued=queued,
                offline_after=core.settings.offline_after_seconds, api_url=api_url(request), **extra)  # fmt: skip


@router.get("/dashboard/phones")
async def phones_page(request: Request, viewer: SignedIn) -> Response:
    return await _page(request, viewer)


@router.post("/dashboard/phones/add")
async def add_phone(request: Request, viewer: SignedIn) -> Response:
    async with core_of(request).unit() as unit:
        issued = await credentials.issue(unit, viewer.account_id, "device_registration", name="added in the dashboard")
        code, valid_until = await user_codes.issue(unit, viewer.account_id)
    url = api_url(request)
    added = {"token": issued.secret, "code": code, "valid_until": valid_until, "qr": qr_svg(f"{url}\n{issued.secret}")}
    return await _page(request, viewer, status_code=201, added=added)


@router.post("/dashboard/phones/{device_id}")
async def change_phone(device_id: int, request: Request, viewer: SignedIn) -> Response:
    form = await forms.read(request)
    try:
        async with core_of(request).unit() as unit:
            with forms.or_404():
                device = await devices.get(unit, viewer.account_id, forms.ident(device_id))
            values = {
                "name": forms.text(form, "name", max_length=200),
                "delay_between_sms": forms.number(form, "delay_between_sms", high=MAX_DELAY) or 0,
                "delay_between_request": forms.number(form, "delay_between_request", high=MAX_DELAY) or 0,
            }
            await devices.update_device(unit, device.id, **values)
            presence.settings_changed(unit, device.id)
    except DomainError as exc:
        return await _page(request, viewer, status_code=422, error=forms.message_of(exc))
    return RedirectResponse("/dashboard/phones", status_code=303)
