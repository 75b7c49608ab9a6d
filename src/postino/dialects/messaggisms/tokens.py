"""Bearer tokens with scopes and an expiry: create (secret shown once), list, revoke.

A token created with another token never gets more than its creator: no scope it lacks,
no expiry later than its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...core.accounts import credentials
from ...core.accounts.credentials import Credential
from ...core.errors import InvalidInput, NotFound
from . import parse
from .endpoint import Answer, Context
from .errors import FORBIDDEN, TOKEN_INVALID_ID, TOKEN_NOT_FOUND, ApiError

DEFAULT_SCOPES = ["messages:read", "messages:write", "messages:delete"]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def token_object(credential: Credential) -> dict[str, Any]:
    return {
        "id": credential.id,
        "name": credential.name,
        "hint": credential.hint,
        "scopes": list(credential.scopes),
        "expires_at": _iso(credential.expires_at),
        "created_at": _iso(credential.created_at),
        "revoked_at": _iso(credential.revoked_at),
        "active": credential.revoked_at is None,
    }


def _scopes(value: Any) -> list[str]:
    if value is None:
        return list(DEFAULT_SCOPES)
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise parse.invalid("'scopes' must be a list of strings")
    unknown = [s for s in value if s not in credentials.SCOPES]
    if unknown:
        raise parse.invalid(f"Unknown scope {unknown[0]!r}; known: {', '.join(credentials.SCOPES)}")
    return list(dict.fromkeys(value))


async def create(ctx: Context) -> Answer:
    payload = await ctx.body()
    name = payload.get("name") or ""
    if not isinstance(name, str):
        raise parse.invalid("'name' must be a string")
    scopes = _scopes(payload.get("scopes"))
    expires_at = parse.timestamp(payload.get("expires_at"), ctx.account.zone)
    creator = ctx.credential
    if creator is not None:
        missing = [s for s in scopes if not creator.has_scope(s)]
        if missing:
            raise ApiError(403, FORBIDDEN, f"A token cannot grant the scope {missing[0]} it lacks")
        if creator.expires_at is not None and (expires_at is None or expires_at > creator.expires_at):
            raise parse.invalid("'expires_at' cannot be later than the expiry of the token creating it")
    try:
        issued = await credentials.issue(
            ctx.unit, ctx.account.id, "bearer", name=name, scopes=scopes, expires_at=expires_at
        )
    except InvalidInput as exc:
        raise parse.invalid(exc.message) from None
    return Answer({**token_object(issued.credential), "token": issued.secret}, "Token Created", 201)


async def list_tokens(ctx: Context) -> Answer:
    found = await credentials.list_for(ctx.unit, ctx.account.id, "bearer")
    data = [token_object(c) for c in found]
    return Answer(data, "1 Result" if len(data) == 1 else f"{len(data)} Results")


async def revoke(ctx: Context, token_id: str) -> Answer:
    if not token_id.isdigit() or len(token_id) > 18:
        raise ApiError(406, TOKEN_INVALID_ID, "Invalid Token ID")
    try:
        await credentials.revoke(ctx.unit, ctx.account.id, int(token_id))
    except NotFound:
        raise ApiError(404, TOKEN_NOT_FOUND, "No token found") from None
    return Answer([], f"{token_id} Deleted")
