"""``/auth/token``: JWT access tokens with scopes, their refresh, their revocation.

The answer carries each field in both spellings: the server and its Go and TypeScript
clients read ``access_token``, the Python client reads ``accessToken``.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request

from ...core.accounts import jwt_tokens
from ...core.service import Unit
from . import auth, parse, render
from .endpoint import Answer, Context
from .errors import ApiError

SCOPES = (
    "messages:send", "messages:read", "messages:list", "messages:export", "messages:cancel",
    "devices:list", "devices:delete", "webhooks:list", "webhooks:write", "webhooks:delete",
    "settings:read", "settings:write", "inbox:list", "inbox:refresh", "logs:read", "tokens:manage",
)  # fmt: skip
"""The scopes routes ask for; other names are accepted when a token is issued and grant nothing."""


def pair_json(pair: jwt_tokens.Pair) -> dict:
    expires = render.iso(pair.expires_at)
    return {
        "id": pair.jti,
        "token_type": "Bearer",
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_at": expires,
        "tokenType": "Bearer",
        "accessToken": pair.access_token,
        "refreshToken": pair.refresh_token,
        "expiresAt": expires,
    }


async def issue(ctx: Context) -> Answer:
    payload = await ctx.body()
    scopes = payload.get("scopes")
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) and s.strip() for s in scopes):
        raise ApiError(400, "scopes must be a list of at least one scope")
    if ctx.caller.scopes is not None:
        lacking = [s for s in scopes if s not in ctx.caller.scopes]
        if lacking:
            raise ApiError(403, f"scope required: {lacking[0]}")
    ttl = parse.integer(payload.get("ttl"), "ttl", 0, int(jwt_tokens.MAX_ACCESS_TTL.total_seconds()), 0)
    pair = await jwt_tokens.issue(ctx.unit, ctx.account.id, scopes, ttl=timedelta(seconds=ttl) if ttl else None)
    return Answer(pair_json(pair), 201)


def refresh(request: Request):  # noqa: ANN201
    token = auth.bearer(request)

    async def work(unit: Unit) -> Answer:
        return Answer(pair_json(await jwt_tokens.refresh(unit, token)), 201)

    return work


async def revoke(ctx: Context, jti: str) -> Answer:
    await jwt_tokens.revoke(ctx.unit, ctx.account.id, jti)
    return Answer(None, 204)
