"""What every ``/api/v1`` route shares: bearer-token auth with scopes, and the error shape."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from ..core.accounts import credentials
from ..core.accounts.credentials import Credential
from ..core.errors import AuthError, DomainError, Forbidden, NotFound
from ..core.service import Core
from ..http import JSONResponse

_STATUS = {AuthError: 401, Forbidden: 403, NotFound: 404}


def error(exc: DomainError) -> JSONResponse:
    status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 422)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"error": {"code": exc.code, "message": exc.message, "field": exc.field}}
    return JSONResponse(body, status_code=status, headers=headers)


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
