"""``/dashboard/contacts``: lists with their counts; a list's contacts (search, add, delete); CSV/XLSX import.

An import answers the report the CLI prints: imported, updated, and the bad rows with
their line and reason; with bad rows and no "skip them", nothing is imported.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from ...core.accounts import accounts
from ...core.contacts import contacts, imports, lists, optouts, sheets
from ...core.errors import DomainError, NotFound
from ...core.service import Unit
from .. import forms
from ..sessions import SignedIn, Viewer, core_of
from ..templating import page

router = APIRouter()
MAX_FILE = 20 * 1024 * 1024
PAGE = 100


async def _lists_page(request: Request, viewer: Viewer, *, error: str = "", status_code: int = 200) -> Response:
    async with core_of(request).reader() as unit:
        found, _ = await lists.page(unit, viewer.account_id, limit=lists.MAX_PAGE)
        opted = await optouts.count(unit, viewer.account_id)
        stopped, _ = await optouts.page(unit, viewer.account_id, limit=20)
    return page(request, viewer, "contacts.html", status_code=status_code, lists=found, opted=opted,
                stopped=stopped, error=error)  # fmt: skip


@router.get("/dashboard/contacts")
async def contacts_page(request: Request, viewer: SignedIn) -> Response:
    return await _lists_page(request, viewer)


@router.post("/dashboard/contacts")
async def create_list(request: Request, viewer: SignedIn) -> Response:
    form = await forms.read(request)
    try:
        async with core_of(request).unit() as unit:
            tag = await lists.create_tag(unit, viewer.account_id, forms.text(form, "title", max_length=lists.MAX_TITLE))
    except DomainError as exc:
        return await _lists_page(request, viewer, error=forms.message_of(exc), status_code=422)
    return RedirectResponse(f"/dashboard/contacts/{tag.id}", status_code=303)


async def _list_page(
    request: Request, viewer: Viewer, list_id: int, *, status_code: int = 200, **extra: object
) -> Response:
    q = request.query_params.get("q", "")[:200].replace("\x00", "")
    after = request.query_params.get("after", "")
    async with core_of(request).reader() as unit:
        with forms.or_404():
            info = await lists.info(unit, viewer.account_id, forms.ident(list_id))
        rows, cursor = await contacts.page(
            unit, viewer.account_id, list_id=list_id, q=q or None, after=int(after) if after.isdigit() and len(after) < 19 else 0,
            limit=PAGE,
        )  # fmt: skip
    extra.setdefault("error", "")
    extra.setdefault("report", None)
    return page(request, viewer, "contact_list.html", status_code=status_code, info=info, rows=rows, cursor=cursor,
                q=q, **extra)  # fmt: skip


@router.get("/dashboard/contacts/{list_id}")
async def list_page(list_id: int, request: Request, viewer: SignedIn) -> Response:
    return await _list_page(request, viewer, list_id)


@router.post("/dashboard/contacts/{list_id}/import")
async def import_file(list_id: int, request: Request, viewer: SignedIn) -> Response:
    form = await forms.read(request)
    core = core_of(request)
    async with core.reader() as unit:
        with forms.or_404():
            await lists.get_tag(unit, viewer.account_id, forms.ident(list_id))
    try:
        upload = forms.upload(form, "file")
        if upload is None:
            raise forms.FormError("Choose a CSV or XLSX file", field="file")
        data = await upload.read(MAX_FILE + 1)
        if len(data) > MAX_FILE:
            raise forms.FormError(f"The file is larger than {MAX_FILE // (1024 * 1024)} MB", field="file")
        sheet = sheets.read(data)
        mapping = imports.parse_mapping(forms.text(form, "map", max_length=1000) or None)
        async with core.unit() as unit:
            account = await accounts.get(unit, viewer.account_id)
            report = await imports.import_sheet(
                unit, account, list_id, sheet, mapping=mapping, skip_bad=forms.flag(form, "skip_bad")
            )
    except imports.ImportRejected as exc:
        return await _list_page(request, viewer, list_id, status_code=422, error=exc.message, report=exc.report)
    except DomainError as exc:
        return await _list_page(request, viewer, list_id, status_code=422, error=forms.message_of(exc))
    return await _list_page(request, viewer, list_id, report=report)


@router.post("/dashboard/contacts/{list_id}/add")
async def add_contact(list_id: int, request: Request, viewer: SignedIn) -> Response:
    form = await forms.read(request)
    try:
        async with core_of(request).unit() as unit:
            with forms.or_404():
                await lists.get_tag(unit, viewer.account_id, forms.ident(list_id))
            await contacts.add_contact(
                unit, viewer.account_id, list_id, forms.text(form, "phone", max_length=64, required="Give a number"),
                forms.text(form, "name", max_length=contacts.MAX_NAME),
            )  # fmt: skip
    except DomainError as exc:
        return await _list_page(request, viewer, list_id, status_code=422, error=forms.message_of(exc))
    return RedirectResponse(f"/dashboard/contacts/{list_id}", status_code=303)


async def _entry(unit: Unit, viewer: Viewer, list_id: int, contact_id: int) -> contacts.ContactRow:
    """The contact of this list of the account's (404 for any other)."""
    with forms.or_404():
        found = await contacts.get_contact(unit, viewer.account_id, forms.ident(contact_id))
        if found.list_id != list_id:
            raise NotFound("Contact not found")
    return found


@router.post("/dashboard/contacts/{list_id}/entries/{contact_id}")
async def rename_contact(list_id: int, contact_id: int, request: Request, viewer: SignedIn) -> Response:
    form = await forms.read(request)
    try:
        async with core_of(request).unit() as unit:
            await _entry(unit, viewer, list_id, contact_id)
            await contacts.update_contact(
                unit, viewer.account_id, contact_id, fullname=forms.text(form, "name", max_length=contacts.MAX_NAME)
            )
    except DomainError as exc:
        return await _list_page(request, viewer, list_id, status_code=422, error=forms.message_of(exc))
    return RedirectResponse(f"/dashboard/contacts/{list_id}", status_code=303)


@router.post("/dashboard/contacts/{list_id}/entries/{contact_id}/delete")
async def delete_contact(list_id: int, contact_id: int, request: Request, viewer: SignedIn) -> Response:
    async with core_of(request).unit() as unit:
        await _entry(unit, viewer, list_id, contact_id)
        await contacts.remove(unit, viewer.account_id, contact_id)
    return RedirectResponse(f"/dashboard/contacts/{list_id}", status_code=303)
