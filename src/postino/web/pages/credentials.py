"""``/dashboard/credentials``: SG24 tokens, bearer tokens (scopes, expiry), API keys, phone registration tokens.

A new credential's secret is on the page that answers its creation and nowhere else
(core keeps only its hash); lists show the last four characters. Revoking takes effect
on every node at once: the APIs check the credential again inside each write.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.responses import Response

from ...core.accounts import credentials
from ...core.errors import DomainError
from .. import forms
from ..sessions import SignedIn, Viewer, core_of
from ..templating import page

router = APIRouter()

KINDS: dict[str, str] = {
    "sg24": "SmsGateway24 tokens",
    "bearer": "Bearer tokens (MessaggiSMS, /api/v1)",
    "api_key": "API keys (NusaSMS)",
    "device_registration": "Phone registration tokens",
}
ONE: dict[str, str] = {
    "sg24": "SmsGateway24 token", "bearer": "bearer token", "api_key": "API key", "device_registration": "phone registration token",
}  # fmt: skip


async def _page(request: Request, viewer: Viewer, *, status_code: int = 200, **extra: object) -> Response:
    async with core_of(request).reader() as unit:
        found = {kind: await credentials.list_for(unit, viewer.account_id, kind) for kind in KINDS}
    return page(request, viewer, "credentials.html", status_code=status_code, kinds=KINDS, one=ONE, found=found,
                scopes=credentials.SCOPES, **extra)  # fmt: skip


@router.get("/dashboard/credentials")
async def credentials_page(request: Request, viewer: SignedIn) -> Response:
    return await _page(request, viewer, error="", issued=None)


@router.post("/dashboard/credentials")
async def create(request: Request, viewer: SignedIn) -> Response:
    form = await forms.read(request)
    try:
        kind = forms.text(form, "kind", max_length=32)
        if kind not in KINDS:
            raise forms.FormError("Choose what to create", field="kind")
        name = forms.text(form, "name", max_length=200)
        expires = forms.text(form, "expires", max_length=10)
        expires_at = None
        if expires:
            try:
                day = datetime.strptime(expires, "%Y-%m-%d").date()
            except ValueError:
                raise forms.FormError("The expiry is not a date", field="expires") from None
            expires_at = datetime.combine(day, time.max, tzinfo=ZoneInfo(viewer.timezone))
        scopes = [s for s in form.getlist("scopes") if isinstance(s, str)] if kind == "bearer" else None
        if kind == "bearer" and not scopes:
            raise forms.FormError("A bearer token needs at least one scope", field="scopes")
        async with core_of(request).unit() as unit:
            issued = await credentials.issue(unit, viewer.account_id, kind, name=name, scopes=scopes, expires_at=expires_at)
    except DomainError as exc:
        return await _page(request, viewer, status_code=422, error=forms.message_of(exc), issued=None)
    return await _page(request, viewer, status_code=201, error="", issued=issued)


@router.post("/dashboard/credentials/{credential_id}/revoke")
async def revoke(credential_id: int, request: Request, viewer: SignedIn) -> Response:
    return await forms.act_then_go(request, viewer.account_id, credentials.revoke, credential_id, "/dashboard/credentials")
