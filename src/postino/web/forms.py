"""Reading what a dashboard form sent, and turning core's refusals into what the form shows.

Every value is read as text and checked here or by core; a bad value becomes a message
next to the form (status 422), never a 500, and nothing is written before every value
has been checked (each write is one unit of work).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Request
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse

from ..core.errors import DomainError, InvalidInput, NotFound
from ..core.service import Unit
from ..http import fits_int64


class FormError(InvalidInput):
    """A form value the page itself refuses (core's own checks raise their ``InvalidInput``)."""


async def read(request: Request) -> FormData:
    try:
        return await request.form()
    except Exception as exc:  # noqa: BLE001 - a malformed body is a form error, whatever the parser raised
        raise HTTPException(400, "The form could not be read") from exc


def text(form: FormData, name: str, *, max_length: int = 10_000, required: str | None = None) -> str:
    """A text field, stripped; ``required`` is the message when it is empty."""
    value = form.get(name)
    value = value.strip() if isinstance(value, str) else ""
    if "\x00" in value:
        raise FormError(f"{name} may not hold a NUL character", field=name)
    if len(value) > max_length:
        raise FormError(f"{name} is longer than {max_length} characters", field=name)
    if required and not value:
        raise FormError(required, field=name)
    return value


def number(form: FormData, name: str, *, low: int = 0, high: int = 2**63 - 1) -> int | None:
    """An optional whole number between ``low`` and ``high``."""
    value = text(form, name, max_length=30)
    if not value:
        return None
    try:
        found = int(value)
    except ValueError:
        raise FormError(f"{name} must be a whole number", field=name) from None
    if not low <= found <= high:
        raise FormError(f"{name} must be between {low} and {high}", field=name)
    return found


def flag(form: FormData, name: str) -> bool:
    return text(form, name, max_length=10) in ("1", "on", "true", "yes")


def local_time(form: FormData, name: str, zone: str) -> datetime | None:
    """A ``datetime-local`` value, read in the account's time zone."""
    value = text(form, name, max_length=40)
    if not value:
        return None
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        raise FormError(f"{name} is not a date and time", field=name) from None
    return found if found.tzinfo else found.replace(tzinfo=ZoneInfo(zone))


def upload(form: FormData, name: str) -> UploadFile | None:
    value = form.get(name)
    return value if isinstance(value, UploadFile) and value.filename else None


def ident(value: int) -> int:
    """An id from the path: one no database column can hold names nothing (404)."""
    if not fits_int64(value):
        raise HTTPException(404, "Not found")
    return value


@contextmanager
def or_404() -> Iterator[None]:
    """Another account's id (or none at all) is 'not found', as in the APIs."""
    try:
        yield
    except NotFound as exc:
        raise HTTPException(404, exc.message) from None


def message_of(exc: DomainError) -> str:
    return exc.message


async def act_then_go(
    request: Request, account_id: int, action: Callable[[Unit, int, int], Awaitable[object]], object_id: int, then: str
) -> RedirectResponse:
    """``action(unit, account_id, object_id)`` in one unit of work (404 for another account's id), then 303 to ``then``."""
    async with request.app.state.core.unit() as unit:
        with or_404():
            await action(unit, account_id, ident(object_id))
    return RedirectResponse(then, status_code=303)
