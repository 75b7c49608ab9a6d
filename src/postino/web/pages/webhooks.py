"""``/dashboard/webhooks``: the account's webhooks (add, remove) and the delivery log with every attempt."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ...core.errors import DomainError
from ...core.events import webhooks
from .. import forms
from ..sessions import SignedIn, Viewer, core_of
from ..templating import page

router = APIRouter()


async def _page(request: Request, viewer: Viewer, *, status_code: int = 200, webhook_id: int | None = None,
                **extra: object) -> Response:  # fmt: skip
    async with core_of(request).reader() as unit:
        found = await webhooks.list_for(unit, viewer.account_id)
        shown = None
        if webhook_id is not None:
            with forms.or_404():
                shown = await webhooks.get(unit, viewer.account_id, forms.ident(webhook_id))
        log = await webhooks.deliveries(unit, viewer.account_id, webhook_id=webhook_id, limit=50)
    extra.setdefault("error", "")
    extra.setdefault("created", None)
    return page(request, viewer, "webhooks.html", status_code=status_code, hooks=found, shown=shown, log=log,
                events=webhooks.EVENTS, **extra)  # fmt: skip


@router.get("/dashboard/webhooks")
async def webhooks_page(request: Request, viewer: SignedIn) -> Response:
    return await _page(request, viewer)


@router.get("/dashboard/webhooks/{webhook_id}")
async def webhook_page(webhook_id: int, request: Request, viewer: SignedIn) -> Response:
    return await _page(request, viewer, webhook_id=webhook_id)


@router.post("/dashboard/webhooks")
async def add(request: Request, viewer: SignedIn) -> Response:
    form = await forms.read(request)
    try:
        url = forms.text(form, "url", max_length=webhooks.MAX_URL, required="Give the URL to post to")
        events = [e for e in form.getlist("events") if isinstance(e, str)]
        async with core_of(request).unit() as unit:
            created = await webhooks.create(unit, viewer.account_id, url=url, events=events)
            secret = created.secret
    except DomainError as exc:
        return await _page(request, viewer, status_code=422, error=forms.message_of(exc))
    return await _page(request, viewer, status_code=201, created={"url": created.url, "secret": secret})


@router.post("/dashboard/webhooks/{webhook_id}/delete")
async def remove(webhook_id: int, request: Request, viewer: SignedIn) -> Response:
    return await forms.act_then_go(request, viewer.account_id, webhooks.remove, webhook_id, "/dashboard/webhooks")
