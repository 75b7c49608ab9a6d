"""``/api/v1/webhooks``: an account manages its webhooks and reads their delivery log.

Reading needs the token scope ``messages:read`` (the deliveries carry message data);
adding and removing need ``tokens:manage``, the scope that already guards an account's
credentials, since a webhook hands message data to a new place.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response
from pydantic import BaseModel, Field, field_validator

from ..core.errors import DomainError
from ..core.events import webhooks
from ..core.service import Core
from ..http import JSONResponse
from .common import AuthHeader, auth, error, known_id, resource_router

router = resource_router("webhooks", tag="webhooks")


class WebhookIn(BaseModel):
    url: str = Field(max_length=webhooks.MAX_URL, examples=["https://example.com/postino"])
    events: list[str] = Field(min_length=1, examples=[["message.delivered", "message.failed"]])
    secret: str | None = Field(
        default=None, description="HMAC key, 16-200 characters; generated (and shown once) when omitted."
    )

    @field_validator("secret")
    @classmethod
    def _utf8(cls, value: str | None) -> str | None:
        """JSON may escape a lone surrogate (``"\\ud800"``): no key to sign with."""
        if value is not None:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("secret must be UTF-8 text") from None
        return value


@router.get("/webhooks", summary="List the account's webhooks")
async def list_webhooks(request: Request, authorization: AuthHeader = None) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:read")
        async with core.reader() as unit:
            hooks = await webhooks.list_for(unit, credential.account_id)
    except DomainError as exc:
        return error(exc)
    return JSONResponse({"data": [h.public() for h in hooks]})


@router.post("/webhooks", status_code=201, summary="Add a webhook (the secret is shown only now)")
async def create_webhook(body: WebhookIn, request: Request, authorization: AuthHeader = None) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "tokens:manage")
        async with core.unit() as unit:
            hook = await webhooks.create(
                unit, credential.account_id, url=body.url, events=body.events, secret=body.secret
            )
    except DomainError as exc:
        return error(exc)
    return JSONResponse({**hook.public(), "secret": hook.secret}, status_code=201)


@router.delete("/webhooks/{webhook_id}", status_code=204, summary="Remove a webhook; its pending deliveries are canceled")
async def delete_webhook(webhook_id: int, request: Request, authorization: AuthHeader = None) -> Response:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "tokens:manage")
        known_id(webhook_id, "Webhook")
        async with core.unit() as unit:
            await webhooks.remove(unit, credential.account_id, webhook_id)
    except DomainError as exc:
        return error(exc)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", summary="A webhook's newest deliveries with every attempt")
async def list_deliveries(
    webhook_id: int,
    request: Request,
    authorization: AuthHeader = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:read")
        known_id(webhook_id, "Webhook")
        async with core.reader() as unit:
            await webhooks.get(unit, credential.account_id, webhook_id)
            rows = await webhooks.deliveries(unit, credential.account_id, webhook_id=webhook_id, limit=limit)
    except DomainError as exc:
        return error(exc)
    return JSONResponse({"data": rows})
