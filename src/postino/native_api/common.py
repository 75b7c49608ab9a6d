"""What every ``/api/v1`` route shares: bearer-token auth with scopes, and the error shape."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from ..core.accounts import credentials
from ..core.accounts.credentials import Credential
from ..core.errors import AuthError, Conflict, DomainError, Forbidden, NotFound
from ..core.service import Core
from ..http import JSONResponse, Problem, fits_int64
from ..http_json import MeasuredJSONRoute
from ..http_paths import PathRouter

PREFIX = "/api/v1"


def resource_router(*resources: str, tag: str) -> PathRouter:
    """The router of one kind of object (``messages``): it refuses other paths at once, and
    measures a JSON body's nesting before its model is parsed."""
    return PathRouter(prefix=PREFIX, tags=[tag], route_class=MeasuredJSONRoute,
                      paths=[f"{PREFIX}/{name}" for name in resources])


_STATUS = {AuthError: 401, Forbidden: 403, NotFound: 404, Conflict: 409}


def error(exc: DomainError) -> JSONResponse:
    status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 422)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"error": {"code": exc.code, "message": exc.message, "field": exc.field}}
    return JSONResponse(body, status_code=status, headers=headers)


_CODES = {400: "invalid_input", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 413: "too_large", 422: "invalid_input"}


def problem(p: Problem) -> JSONResponse:
    """What no route answered, in the documented ``{"error": {code, message, field}}`` shape."""
    code = _CODES.get(p.status, "internal_error" if p.status >= 500 else "invalid_input")
    return JSONResponse({"error": {"code": code, "message": p.message, "field": p.field}}, status_code=p.status)


def known_id(value: int, what: str) -> int:
    """An id from the path; one no 64-bit column can hold names nothing (``NotFound``)."""
    if not fits_int64(value):
        raise NotFound(f"{what} not found")
    return value


def bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


async def auth(core: Core, authorization: str | None, scope: str) -> Credential:
    async with core.reader() as unit:
        credential = await credentials.resolve(unit, bearer(authorization), kinds=("bearer",))
    credentials.require_scope(credential, scope)
    return credential


AuthHeader = Annotated[str | None, Header(description="`Bearer <token>`")]
