"""Errors of the device protocol, answered the way the app's server answers them.

Every failure is ``{"message": "..."}`` with a 4xx status: the app shows the message and,
on 401, registers again. Domain errors from core are translated here, in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute

from ..core.errors import AuthError, Conflict, DomainError, Forbidden, NotFound, RateLimited
from ..http import Problem


class ApiError(Exception):
    """A refusal with its HTTP status and a message the phone's user can read."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (AuthError, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (RateLimited, 429),
)


def json_response(data: Any, status: int = 200) -> Response:
    """JSON exactly as given (orjson: compact, UTF-8, times already formatted)."""
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def error_response(status: int, message: str) -> Response:
    return json_response({"message": message}, status)


def problem(p: Problem) -> Response:
    """What no route answered, in the app's ``{"message"}`` shape (invalid input is a 400 to the app)."""
    message = f"{p.field}: {p.message}" if p.field else p.message
    return error_response(400 if p.status == 422 else p.status, message)


class DeviceRoute(APIRoute):
    """A route whose errors render as the app expects instead of FastAPI's ``detail``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as exc:
                return error_response(exc.status, exc.message)
            except DomainError as exc:
                status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
                return error_response(status, exc.message)

        return run
