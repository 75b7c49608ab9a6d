"""Running one request: authenticate, do the work in one unit of work, answer in the envelope.

The work and the authentication share one transaction; an error anywhere rolls back
everything the request wrote, and the answer still carries the account's credit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from ...core.accounts import accounts, billing
from ...core.accounts.accounts import Account
from ...core.accounts.credentials import Credential
from ...core.errors import DomainError
from ...core.service import Core, Unit
from . import auth
from .errors import ApiError, from_domain
from .parse import json_body
from .render import envelope


@dataclass
class Context:
    unit: Unit
    account: Account
    credential: Credential | None
    request: Request

    async def body(self) -> dict:
        return json_body(await self.request.body())


@dataclass
class Answer:
    data: Any
    message: str
    status: int = 200


Work = Callable[[Context], Awaitable[Answer]]
MANAGE = "tokens"
"""Pseudo-scope of the /tokens/ routes: HTTP Basic or a bearer token with tokens:manage."""


async def _credit(unit: Unit, account_id: int) -> Decimal:
    return (await billing.balance(unit, account_id, "sms")).amount


async def run(request: Request, work: Work, *, scope: str, write: bool = False) -> Response:
    core: Core = request.app.state.core
    account_id: int | None = None
    try:
        async with (core.unit() if write else core.reader()) as unit:
            if scope == MANAGE:
                account_id, credential = await auth.manager(unit, request)
            else:
                credential = await auth.bearer(unit, request, scope)
                account_id = credential.account_id
            account = await accounts.get(unit, account_id)
            answer = await work(Context(unit, account, credential, request))
            credit = await _credit(unit, account_id)
        return envelope(answer.data, answer.message, credit, status=answer.status)
    except (ApiError, DomainError) as exc:
        error = exc if isinstance(exc, ApiError) else from_domain(exc)
        credit = None
        if account_id is not None:
            async with core.reader() as unit:
                credit = await _credit(unit, account_id)
        return envelope(None, error.message, credit, status=error.status, error=error.code)
