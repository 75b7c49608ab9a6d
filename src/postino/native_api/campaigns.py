"""``/api/v1/campaigns``: create a campaign to some lists, follow its counts, pause, resume, cancel.

Reading needs ``messages:read``; creating and controlling ``messages:write``. A campaign
shows its counts everywhere: total, waiting (drafts not yet handed out), queued, sent,
delivered, failed, canceled, opted_out, duplicates_skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from pydantic import BaseModel, Field

from ..core.accounts import accounts
from ..core.contacts import campaigns
from ..core.errors import DomainError
from ..core.messages.messages import MAX_BODY
from ..core.service import Core, Unit
from ..http import JSONResponse
from .common import AuthHeader, auth, error, known_id, resource_router

router = resource_router("campaigns", tag="campaigns")


class CampaignIn(BaseModel, extra="forbid"):
    title: str = Field(min_length=1, max_length=200, examples=["Spring sale"])
    body: str = Field(min_length=1, max_length=MAX_BODY, examples=["Hi {{name}}, 20% off until Sunday!"])
    lists: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(min_length=1, max_length=campaigns.MAX_LISTS)
    channel: Literal["sms", "whatsapp", "rcs"] = "sms"
    device_id: int | None = Field(default=None, ge=1, le=2**63 - 1, description="Send through this phone; else routed.")
    slot: int = Field(default=0, ge=0, le=5, description="The phone's slot, with `device_id`.")
    at: datetime | None = Field(default=None, description="Start time; without an offset, in the account's time zone.")
    window: str | None = Field(default=None, max_length=20, examples=["09:00-20:00"])
    pace: int | None = Field(default=None, ge=1, le=campaigns.MAX_PACE, description="At most this many messages a minute.")
    sender: str | None = Field(default=None, max_length=64)


@router.get("/campaigns", summary="The account's campaigns, newest first, with their counts")
async def list_campaigns(
    request: Request,
    authorization: AuthHeader = None,
    state: Annotated[Literal[campaigns.STATES] | None, Query()] = None,  # type: ignore[valid-type]
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="The `next` of the previous page.")] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:read")
        async with core.reader() as unit:
            found, cursor = await campaigns.list_campaigns(
                unit, credential.account_id, state=state, after=after, limit=limit
            )
            data = [c.public(await campaigns.counts(unit, c)) for c in found]
    except DomainError as exc:
        return error(exc)
    return JSONResponse({"data": data, "next": cursor})


@router.post("/campaigns", status_code=201, summary="Create a campaign (it starts now unless `at` is later)")
async def create_campaign(body: CampaignIn, request: Request, authorization: AuthHeader = None) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:write")
        async with core.unit() as unit:
            account = await accounts.get(unit, credential.account_id)
            at = body.at if body.at is None or body.at.tzinfo else body.at.replace(tzinfo=account.zone)
            campaign, _woken = await campaigns.create_campaign(
                unit, account.id, title=body.title, body=body.body, tag_ids=body.lists, device_id=body.device_id,
                slot=body.slot, send_at=at, channel=body.channel, window=body.window, pace=body.pace,
                options={"sender": body.sender} if body.sender else None,
            )  # fmt: skip
            shown = campaign.public(await campaigns.counts(unit, campaign))
    except DomainError as exc:
        return error(exc)
    return JSONResponse(shown, status_code=201)


@router.get("/campaigns/{campaign_id}", summary="One campaign and its counts")
async def get_campaign(campaign_id: int, request: Request, authorization: AuthHeader = None) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:read")
        known_id(campaign_id, "Campaign")
        async with core.reader() as unit:
            shown = await campaigns.show(unit, credential.account_id, campaign_id)
    except DomainError as exc:
        return error(exc)
    return JSONResponse(shown)


async def _control(
    request: Request, authorization: str | None, campaign_id: int, action: Callable[[Unit, int, int], Awaitable[Any]]
) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:write")
        known_id(campaign_id, "Campaign")
        async with core.unit() as unit:
            await action(unit, credential.account_id, campaign_id)
            shown = await campaigns.show(unit, credential.account_id, campaign_id)
    except DomainError as exc:
        return error(exc)
    return JSONResponse(shown)


@router.post("/campaigns/{campaign_id}/pause", summary="Stop handing out messages (queued ones still go)")
async def pause_campaign(campaign_id: int, request: Request, authorization: AuthHeader = None) -> JSONResponse:
    return await _control(request, authorization, campaign_id, campaigns.pause)


@router.post("/campaigns/{campaign_id}/resume", summary="Go on where the pause stopped")
async def resume_campaign(campaign_id: int, request: Request, authorization: AuthHeader = None) -> JSONResponse:
    return await _control(request, authorization, campaign_id, campaigns.resume)


@router.post("/campaigns/{campaign_id}/cancel", summary="Cancel every message not yet taken")
async def cancel_campaign(campaign_id: int, request: Request, authorization: AuthHeader = None) -> JSONResponse:
    return await _control(request, authorization, campaign_id, campaigns.cancel)
