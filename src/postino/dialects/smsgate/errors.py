"""Errors as the SMS Gate server words them: ``{"message": "..."}`` with the HTTP status."""

from __future__ import annotations

from starlette.responses import Response

from ...core import errors as core_errors
from ...http import JSONResponse, Problem


class ApiError(Exception):
    """An answer other than success: an HTTP status and a readable message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def response(status: int, message: str) -> Response:
    return JSONResponse({"message": message}, status_code=status)


def problem(p: Problem) -> Response:
    """What no route answered (unknown path or verb, invalid input, a crash), in this API's shape."""
    status = 400 if p.status == 422 else p.status
    message = f"{p.field}: {p.message}" if p.field and status == 400 else p.message
    return response(status, message)


def from_domain(exc: core_errors.DomainError) -> ApiError:
    if isinstance(exc, core_errors.AuthError):
        return ApiError(401, exc.message)
    if isinstance(exc, core_errors.Forbidden):
        return ApiError(403, exc.message)
    if isinstance(exc, core_errors.NotFound):
        return ApiError(404, exc.message)
    if isinstance(exc, core_errors.Conflict):
        return ApiError(409, exc.message)
    if isinstance(exc, core_errors.RateLimited):
        return ApiError(503, exc.message)
    field = f"{exc.field}: " if exc.field else ""
    return ApiError(400, field + exc.message)
