"""Signed access tokens (JWT, HS256) with scopes, and the refresh tokens that renew them.

A pair is issued at once: a short-lived access token and a 30-day refresh token, both
JWTs signed with a key derived from the server key and both kept as credentials (kinds
``jwt`` and ``jwt_refresh``, stored hashed, named with the pair's ``jti``). A valid
signature is not enough: every use looks the token up, so a revoked pair stops working
at once in every process. Refreshing revokes the old pair and issues a new one with the
same scopes. Scope names are the issuer's to define: core stores and checks them.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from ..clock import utcnow
from ..errors import AuthError, InvalidInput, NotFound
from ..service import Unit
from . import credentials, secrets
from .credentials import Credential

ALGORITHM = "HS256"
ISSUER = "postino"
ACCESS_TTL = timedelta(minutes=15)
MAX_ACCESS_TTL = timedelta(days=365)
REFRESH_TTL = timedelta(days=30)
KINDS = ("jwt", "jwt_refresh")


@dataclass(frozen=True)
class Pair:
    jti: str
    access_token: str
    refresh_token: str
    expires_at: datetime
    refresh_expires_at: datetime
    scopes: tuple[str, ...]


def signing_key(unit: Unit) -> bytes:
    """The HMAC key of every token: derived from the server key, never the server key itself."""
    server_key = unit.settings.resolved_secret_key().encode("utf-8")
    return hmac.new(server_key, b"postino jwt signing key v1", hashlib.sha256).digest()


def _encode(unit: Unit, claims: dict) -> str:
    return jwt.encode(claims, signing_key(unit), algorithm=ALGORITHM)


async def issue(unit: Unit, account_id: int, scopes: list[str], *, ttl: timedelta | None = None) -> Pair:
    """A new pair for the account; ``ttl`` is the access token's lifetime (15 minutes by default)."""
    if not scopes or not all(isinstance(s, str) and s for s in scopes):
        raise InvalidInput("At least one scope is needed", field="scopes")
    lifetime = ttl or ACCESS_TTL
    if lifetime <= timedelta(0) or lifetime > MAX_ACCESS_TTL:
        raise InvalidInput("ttl must be between 1 second and 365 days", field="ttl")
    scope_list = list(dict.fromkeys(scopes))
    now = utcnow().replace(microsecond=0)
    jti = secrets.token_urlsafe_chars(21)
    expires_at = now + lifetime
    refresh_expires_at = now + REFRESH_TTL
    base = {"iss": ISSUER, "sub": str(account_id), "jti": jti, "iat": int(now.timestamp())}
    access = _encode(unit, {**base, "typ": "access", "scopes": scope_list, "exp": int(expires_at.timestamp())})
    refresh = _encode(unit, {**base, "typ": "refresh", "exp": int(refresh_expires_at.timestamp())})
    await credentials.issue(
        unit, account_id, "jwt", name=jti, scopes=scope_list, expires_at=expires_at, secret=access
    )
    await credentials.issue(
        unit, account_id, "jwt_refresh", name=jti, scopes=scope_list, expires_at=refresh_expires_at, secret=refresh
    )
    return Pair(jti, access, refresh, expires_at, refresh_expires_at, tuple(scope_list))


def _claims(unit: Unit, token: str, kind: str) -> dict:
    try:
        claims = jwt.decode(
            token, signing_key(unit), algorithms=[ALGORITHM], issuer=ISSUER,
            options={"require": ["exp", "iat", "jti", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("Token expired") from None
    except jwt.PyJWTError:
        raise AuthError("Invalid token") from None
    if claims.get("typ") != kind:
        raise AuthError("Invalid token type")
    return claims


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


async def authenticate(unit: Unit, token: str) -> Credential:
    """The live access token's credential (account and scopes), else ``AuthError``."""
    _claims(unit, token, "access")
    return await credentials.resolve(unit, token, ("jwt",))


async def refresh(unit: Unit, refresh_token: str) -> Pair:
    """Trade a live refresh token for a new pair; the old pair is revoked."""
    claims = _claims(unit, refresh_token, "refresh")
    old = await credentials.resolve(unit, refresh_token, ("jwt_refresh",))
    await credentials.revoke_named(unit, old.account_id, KINDS, str(claims["jti"]))
    return await issue(unit, old.account_id, list(old.scopes))


async def revoke(unit: Unit, account_id: int, jti: str) -> None:
    """Revoke the account's pair ``jti``; ``NotFound`` when it has no live token of that id."""
    if not await credentials.revoke_named(unit, account_id, KINDS, jti):
        raise NotFound("Token not found")
