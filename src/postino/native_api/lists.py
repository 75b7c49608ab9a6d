"""``/api/v1/lists``: an account's contact lists, their import (multipart) and export (CSV).

Reading needs the token scope ``messages:read``, changing ``messages:write``, deleting a
list (and its contacts) ``messages:delete``. An import answers the same report as
``postino contacts import --json``: 200 when it imported, 422 (with the report) when bad
rows and no ``skip_bad`` meant nothing was imported.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from ..core.accounts import accounts
from ..core.contacts import contacts, imports, lists, sheets
from ..core.errors import DomainError
from ..core.service import Core
from ..http import JSONResponse
from .common import AuthHeader, auth, error, known_id, resource_router

router = resource_router("lists", tag="contacts")


class ListIn(BaseModel, extra="forbid"):
    title: str = Field(min_length=1, max_length=lists.MAX_TITLE, examples=["Newsletter"])


@router.get("/lists", summary="The account's contact lists, with how many contacts each holds")
async def list_lists(
    request: Request,
    authorization: AuthHeader = None,
    q: Annotated[str | None, Query(max_length=200, description="Text the title contains.")] = None,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="The `next` of the previous page.")] = 0,
    limit: Annotated[int, Query(ge=1, le=lists.MAX_PAGE)] = 100,
) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:read")
        async with core.reader() as unit:
            found, cursor = await lists.page(unit, credential.account_id, q=q, after=after, limit=limit)
    except DomainError as exc:
        return error(exc)
    return JSONResponse({"data": [item.public() for item in found], "next": cursor})


@router.post("/lists", status_code=201, summary="Create a list (a title the account has already returns that list)")
async def create_list(body: ListIn, request: Request, authorization: AuthHeader = None) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:write")
        async with core.unit() as unit:
            tag = await lists.create_tag(unit, credential.account_id, body.title)
            found = await lists.info(unit, credential.account_id, tag.id)
    except DomainError as exc:
        return error(exc)
    return JSONResponse(found.public(), status_code=201)


@router.get("/lists/{list_id}", summary="One list")
async def get_list(list_id: int, request: Request, authorization: AuthHeader = None) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:read")
        known_id(list_id, "Tag")
        async with core.reader() as unit:
            found = await lists.info(unit, credential.account_id, list_id)
    except DomainError as exc:
        return error(exc)
    return JSONResponse(found.public())


@router.patch("/lists/{list_id}", summary="Rename a list")
async def rename_list(list_id: int, body: ListIn, request: Request, authorization: AuthHeader = None) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:write")
        known_id(list_id, "Tag")
        async with core.unit() as unit:
            await lists.rename(unit, credential.account_id, list_id, body.title)
            found = await lists.info(unit, credential.account_id, list_id)
    except DomainError as exc:
        return error(exc)
    return JSONResponse(found.public())


@router.delete("/lists/{list_id}", status_code=204, summary="Delete a list and its contacts")
async def delete_list(list_id: int, request: Request, authorization: AuthHeader = None) -> Response:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:delete")
        known_id(list_id, "Tag")
        async with core.unit() as unit:
            await lists.remove(unit, credential.account_id, list_id)
    except DomainError as exc:
        return error(exc)
    return Response(status_code=204)


@router.post("/lists/{list_id}/import", summary="Import contacts from a CSV or XLSX file (multipart field `file`)")
async def import_contacts(
    list_id: int,
    request: Request,
    file: Annotated[UploadFile, File(description="CSV (any delimiter; UTF-8 or Windows-1252) or XLSX.")],
    map: Annotated[str | None, Form(description="Columns by name, e.g. `phone=Telefono,name=Nome`.")] = None,
    skip_bad: Annotated[bool, Form(description="Import the good rows even if some are bad.")] = False,
    authorization: AuthHeader = None,
) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:write")
        known_id(list_id, "Tag")
        sheet = sheets.read(await file.read())
        mapping = imports.parse_mapping(map)
        async with core.unit() as unit:
            account = await accounts.get(unit, credential.account_id)
            report = await imports.import_sheet(unit, account, list_id, sheet, mapping=mapping, skip_bad=skip_bad)
    except imports.ImportRejected as exc:
        body = {"error": {"code": exc.code, "message": exc.message, "field": exc.field}, **exc.report.public()}
        return JSONResponse(body, status_code=422)
    except DomainError as exc:
        return error(exc)
    return JSONResponse(report.public())


@router.get("/lists/{list_id}/export", summary="A list as CSV: phone, name, then one column per custom field")
async def export_list(list_id: int, request: Request, authorization: AuthHeader = None) -> Response:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:read")
        known_id(list_id, "Tag")
        async with core.reader() as unit:
            await lists.get_tag(unit, credential.account_id, list_id)
            rows = []
            after: int | None = 0
            while after is not None:
                page, after = await contacts.page(unit, credential.account_id, list_id=list_id, after=after, limit=1000)
                rows.extend(page)
    except DomainError as exc:
        return error(exc)
    names = sorted({name for row in rows for name in row.fields})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["phone", "name", *names])
    for row in rows:
        writer.writerow([row.phone, row.fullname, *("" if row.fields.get(n) is None else row.fields[n] for n in names)])
    headers = {"Content-Disposition": f'attachment; filename="list-{list_id}.csv"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
