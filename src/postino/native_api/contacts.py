"""``/api/v1/contacts``: the contacts of an account's lists, searchable, a page at a time.

Reading needs ``messages:read``, adding and changing ``messages:write``, deleting
``messages:delete``. Adding a phone a list already holds updates it (200 instead of 201),
as ``savecontact`` does.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request, Response
from pydantic import BaseModel, Field

from ..core.contacts import contacts
from ..core.errors import DomainError
from ..core.service import Core
from ..http import JSONResponse
from .common import AuthHeader, auth, error, known_id, resource_router

router = resource_router("contacts", tag="contacts")


class ContactIn(BaseModel, extra="forbid"):
    list_id: int = Field(ge=1, le=2**63 - 1)
    phone: str = Field(min_length=1, max_length=64, examples=["+393491234567"])
    name: str = Field(default="", max_length=contacts.MAX_NAME)
    fields: dict[str, Any] | None = Field(default=None, description="Custom values for `{{placeholders}}`.")


class ContactChange(BaseModel, extra="forbid"):
    name: str | None = Field(default=None, max_length=contacts.MAX_NAME)
    fields: dict[str, Any] | None = None


@router.get("/contacts", summary="Contacts, in id order; filter by list, search the number or name")
async def list_contacts(
    request: Request,
    authorization: AuthHeader = None,
    list_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Digits of the number or text of the name.")] = None,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="The `next` of the previous page.")] = 0,
    limit: Annotated[int, Query(ge=1, le=contacts.MAX_PAGE)] = 100,
) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:read")
        async with core.reader() as unit:
            found, cursor = await contacts.page(
                unit, credential.account_id, list_id=list_id, q=q, after=after, limit=limit
            )
    except DomainError as exc:
        return error(exc)
    return JSONResponse({"data": [c.public() for c in found], "next": cursor})


@router.post("/contacts", status_code=201, summary="Add a contact to a list (its phone again: updated)")
async def add_contact(body: ContactIn, request: Request, authorization: AuthHeader = None) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:write")
        async with core.unit() as unit:
            saved = await contacts.add_contact(
                unit, credential.account_id, body.list_id, body.phone, body.name, fields=body.fields
            )
            found = await contacts.get_contact(unit, credential.account_id, saved.id)
    except DomainError as exc:
        return error(exc)
    return JSONResponse(found.public(), status_code=201 if saved.created else 200)


@router.get("/contacts/{contact_id}", summary="One contact")
async def get_contact(contact_id: int, request: Request, authorization: AuthHeader = None) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:read")
        known_id(contact_id, "Contact")
        async with core.reader() as unit:
            found = await contacts.get_contact(unit, credential.account_id, contact_id)
    except DomainError as exc:
        return error(exc)
    return JSONResponse(found.public())


@router.patch("/contacts/{contact_id}", summary="Change a contact's name or fields")
async def change_contact(
    contact_id: int, body: ContactChange, request: Request, authorization: AuthHeader = None
) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:write")
        known_id(contact_id, "Contact")
        async with core.unit() as unit:
            found = await contacts.update_contact(
                unit, credential.account_id, contact_id, fullname=body.name, fields=body.fields
            )
    except DomainError as exc:
        return error(exc)
    return JSONResponse(found.public())


@router.delete("/contacts/{contact_id}", status_code=204, summary="Delete a contact")
async def delete_contact(contact_id: int, request: Request, authorization: AuthHeader = None) -> Response:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:delete")
        known_id(contact_id, "Contact")
        async with core.unit() as unit:
            await contacts.remove(unit, credential.account_id, contact_id)
    except DomainError as exc:
        return error(exc)
    return Response(status_code=204)
