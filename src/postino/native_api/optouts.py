"""``/api/v1/optouts``: the numbers an account may not message, their history, the policy and replies.

Reading needs ``messages:read``; adding, removing and the settings ``messages:write``.
Every change is recorded with who made it (``api:<token name>``) and announced as
``contact.opted_out`` / ``contact.opted_in``.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import Query, Request, Response
from pydantic import BaseModel, Field

from ..core.accounts import accounts
from ..core.accounts.credentials import Credential
from ..core.contacts import optouts
from ..core.errors import DomainError, NotFound
from ..core.service import Core
from ..http import JSONResponse
from .common import AuthHeader, auth, error, resource_router

router = resource_router("optouts", tag="opt-outs")

COLUMNS = ("phone", "at", "channel", "source", "keyword", "message_id", "actor")
HISTORY = ("id", "phone", "action", "at", "channel", "source", "keyword", "message_id", "actor")


class OptOutIn(BaseModel, extra="forbid"):
    phone: str = Field(min_length=1, max_length=64, examples=["+393491234567"])


class SettingsIn(BaseModel, extra="forbid"):
    optout_policy: Literal["campaigns", "all"] | None = None
    replies: dict[str, Annotated[str, Field(max_length=optouts.MAX_REPLY)] | None] | None = Field(
        default=None, description="Keyword (or `any-stop` / `any-start`) to its auto-reply; null or empty removes it."
    )


def _actor(credential: Credential) -> str:
    return f"api:{credential.name or credential.id}"


@router.get("/optouts", summary="Numbers on the opt-out list, in number order")
async def list_optouts(
    request: Request,
    authorization: AuthHeader = None,
    q: Annotated[str | None, Query(max_length=64, description="Digits the number contains.")] = None,
    after: Annotated[str, Query(max_length=64, description="The `next` of the previous page.")] = "",
    limit: Annotated[int, Query(ge=1, le=optouts.MAX_PAGE)] = 100,
) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:read")
        async with core.reader() as unit:
            found, cursor = await optouts.page(unit, credential.account_id, q=q, after=after, limit=limit)
    except DomainError as exc:
        return error(exc)
    return JSONResponse({"data": [o.public() for o in found], "next": cursor})


@router.post("/optouts", status_code=201, summary="Opt a number out (200 when it was already)")
async def add_optout(body: OptOutIn, request: Request, authorization: AuthHeader = None) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:write")
        async with core.unit() as unit:
            account = await accounts.get(unit, credential.account_id)
            phone, changed = await optouts.add(unit, account, body.phone, source="api", actor=_actor(credential))
    except DomainError as exc:
        return error(exc)
    return JSONResponse({"phone": phone, "changed": changed}, status_code=201 if changed else 200)


@router.delete("/optouts/{phone}", status_code=204, summary="Take a number off the list")
async def remove_optout(phone: str, request: Request, authorization: AuthHeader = None) -> Response:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:write")
        async with core.unit() as unit:
            account = await accounts.get(unit, credential.account_id)
            _e164, changed = await optouts.remove(unit, account, phone, source="api", actor=_actor(credential))
            if not changed:
                raise NotFound("The number is not opted out")
    except DomainError as exc:
        return error(exc)
    return Response(status_code=204)


@router.get("/optouts/export", summary="The list (or with `history=true`, every change) as CSV")
async def export_optouts(
    request: Request, authorization: AuthHeader = None, history: Annotated[bool, Query()] = False
) -> Response:
    core: Core = request.app.state.core
    out = io.StringIO()
    writer = csv.writer(out)
    try:
        credential = await auth(core, authorization, "messages:read")
        async with core.reader() as unit:
            if history:
                writer.writerow(HISTORY)
                after = 0
                while rows := await optouts.history(unit, credential.account_id, after=after, limit=5000):
                    writer.writerows([["" if r[c] is None else r[c] for c in HISTORY] for r in rows])
                    after = rows[-1]["id"]
            else:
                writer.writerow(COLUMNS)
                cursor: str | None = ""
                while cursor is not None:
                    found, cursor = await optouts.page(unit, credential.account_id, after=cursor, limit=1000)
                    writer.writerows([["" if v is None else v for v in (o.public()[c] for c in COLUMNS)] for o in found])
    except DomainError as exc:
        return error(exc)
    name = "optout-history.csv" if history else "optouts.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.get("/optouts/settings", summary="The opt-out policy of single sends and the keywords' auto-replies")
async def get_settings(request: Request, authorization: AuthHeader = None) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:read")
        async with core.reader() as unit:
            account = await accounts.get(unit, credential.account_id)
    except DomainError as exc:
        return error(exc)
    return JSONResponse(optouts.settings_of(account))


@router.put("/optouts/settings", summary="Change the policy (`campaigns` or `all`) or the auto-replies")
async def put_settings(body: SettingsIn, request: Request, authorization: AuthHeader = None) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:write")
        async with core.unit() as unit:
            account = await optouts.configure(
                unit, credential.account_id, policy_name=body.optout_policy, replies=body.replies
            )
    except DomainError as exc:
        return error(exc)
    return JSONResponse(optouts.settings_of(account))
