"""Who is calling: HTTP Basic (the account's email and password: every scope) or a JWT access token.

Both are checked against the database on every request, so a changed password or a
revoked token stops working at once, in every process.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from fastapi import Request

from ...core.accounts import accounts, jwt_tokens
from ...core.errors import AuthError
from ...core.service import Unit
from .errors import ApiError


@dataclass(frozen=True)
class Caller:
    account_id: int
    scopes: frozenset[str] | None
    """None: logged in with the password, every scope."""

    def require(self, scope: str) -> None:
        if self.scopes is not None and scope not in self.scopes:
            raise ApiError(403, f"scope required: {scope}")


def authorization(request: Request) -> tuple[str, str]:
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    return scheme.lower(), value.strip()


async def caller(unit: Unit, request: Request) -> Caller:
    scheme, value = authorization(request)
    if not value or scheme not in ("basic", "bearer"):
        raise ApiError(401, "authorization required: Basic (login:password) or Bearer (access token)")
    try:
        if scheme == "basic":
            try:
                login, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError, ValueError):  # ValueError: characters that are no ASCII
                raise ApiError(401, "malformed Basic credentials") from None
            if "\x00" in login:  # no login holds a NUL (PostgreSQL could not even look it up)
                raise ApiError(401, "malformed Basic credentials")
            account = await accounts.authenticate(unit, login, password)
            return Caller(account.id, None)
        if not jwt_tokens.looks_like_jwt(value):
            raise ApiError(401, "invalid token")
        credential = await jwt_tokens.authenticate(unit, value)
        return Caller(credential.account_id, frozenset(credential.scopes))
    except AuthError as exc:
        raise ApiError(401, exc.message) from None


def bearer(request: Request) -> str:
    scheme, value = authorization(request)
    if scheme != "bearer" or not value:
        raise ApiError(401, "a refresh token is required: Authorization: Bearer <refresh token>")
    return value
