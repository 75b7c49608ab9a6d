"""Who is calling: a bearer token with the route's scope, or (for /tokens/) the account's login.

Tokens are looked up on every request, so a revoked or expired token stops working at
once, in every process.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import Request

from ...core.accounts import accounts, credentials
from ...core.accounts.credentials import Credential
from ...core.errors import AuthError
from ...core.service import Unit
from .errors import FORBIDDEN, UNAUTHORIZED, ApiError


def _authorization(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.strip().partition(" ")
    return scheme.lower(), value.strip()


async def bearer(unit: Unit, request: Request, scope: str) -> Credential:
    """The live bearer token of the request holding ``scope``; 401 without one, 403 without the scope."""
    scheme, value = _authorization(request)
    if scheme != "bearer" or not value:
        raise ApiError(401, UNAUTHORIZED, "Missing bearer token")
    try:
        credential = await credentials.resolve(unit, value, ("bearer",))
    except AuthError as exc:
        raise ApiError(401, UNAUTHORIZED, exc.message) from None
    if not credential.has_scope(scope):
        raise ApiError(403, FORBIDDEN, f"The token lacks the scope {scope}")
    return credential


async def manager(unit: Unit, request: Request) -> tuple[int, Credential | None]:
    """Whoever may manage tokens: HTTP Basic (email, password), or a bearer token with ``tokens:manage``."""
    scheme, value = _authorization(request)
    if scheme == "bearer":
        credential = await bearer(unit, request, "tokens:manage")
        return credential.account_id, credential
    if scheme != "basic" or not value:
        raise ApiError(401, UNAUTHORIZED, "HTTP Basic (email:password) or a bearer token with tokens:manage needed")
    try:
        email, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):  # ValueError: characters that are no ASCII
        raise ApiError(401, UNAUTHORIZED, "Malformed Basic credentials") from None
    if "\x00" in email:  # no login holds one (PostgreSQL could not even look it up)
        raise ApiError(401, UNAUTHORIZED, "Malformed Basic credentials")
    try:
        account = await accounts.authenticate(unit, email, password)
    except AuthError as exc:
        raise ApiError(401, UNAUTHORIZED, exc.message) from None
    return account.id, None
