"""Running one request: authenticate, check the scope, do the work in one unit of work, answer.

The authentication and the work share the transaction; any error rolls back what the
request wrote and is answered ``{"message"}`` with its status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from ...core.accounts import accounts
from ...core.accounts.accounts import Account
from ...core.errors import DomainError
from ...core.service import Core, Unit
from ...http import JSONResponse
from . import auth
from .errors import ApiError, from_domain, response


@dataclass
class Context:
    unit: Unit
    account: Account
    caller: auth.Caller
    request: Request

    @property
    def query(self) -> Any:
        return self.request.query_params

    async def body(self) -> dict:
        raw = await self.request.body()
        if not raw.strip():
            raise ApiError(400, "a JSON body is required")
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ApiError(400, "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "the body must be a JSON object")
        return data


@dataclass
class Answer:
    data: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Work = Callable[[Context], Awaitable[Answer]]


def render(answer: Answer) -> Response:
    if answer.data is None:
        result: Response = Response(status_code=answer.status)
    else:
        result = JSONResponse(answer.data, status_code=answer.status)
    for name, value in answer.headers.items():
        result.headers[name] = value
    return result


async def run(request: Request, work: Work, *, scope: str | None, write: bool = False) -> Response:
    core: Core = request.app.state.core
    try:
        async with (core.unit() if write else core.reader()) as unit:
            caller = await auth.caller(unit, request)
            if scope is not None:
                caller.require(scope)
            account = await accounts.get(unit, caller.account_id)
            answer = await work(Context(unit, account, caller, request))
    except ApiError as exc:
        return response(exc.status, exc.message)
    except DomainError as exc:
        error = from_domain(exc)
        return response(error.status, error.message)
    return render(answer)


async def run_plain(request: Request, work: Callable[[Unit], Awaitable[Answer]], *, write: bool = False) -> Response:
    """A request that authenticates itself (the token refresh)."""
    core: Core = request.app.state.core
    try:
        async with (core.unit() if write else core.reader()) as unit:
            answer = await work(unit)
    except ApiError as exc:
        return response(exc.status, exc.message)
    except DomainError as exc:
        error = from_domain(exc)
        return response(error.status, error.message)
    return render(answer)
