"""Answers for what no handler answered, in the words of the API the path belongs to.

No route, a wrong method, a request FastAPI could not validate, or an exception a
handler did not expect: each becomes a ``Problem`` rendered by the ``ErrorFormat`` of
the dialect or API whose prefix the path is under (``wiring``); elsewhere (``/docs``,
an unknown root path) FastAPI's own ``{"detail": …}``. A crash is logged with a request
id and answered with it, and the connection stays usable for the client's next request.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from .http import ErrorFormat, JSONResponse, Problem, crash
from .http_json import TOO_DEEP

log = logging.getLogger("postino.http")


def format_for(formats: Sequence[ErrorFormat], path: str) -> ErrorFormat | None:
    """The format with the longest prefix that ``path`` falls under."""
    best: tuple[int, ErrorFormat] | None = None
    for fmt in formats:
        for prefix in fmt.prefixes:
            if (path == prefix or path.startswith(prefix.rstrip("/") + "/")) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), fmt)
    return best[1] if best else None


def _plain_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI's validation errors without the offending input (it may be bytes that are no UTF-8)."""
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in errors]


def install(app: FastAPI, formats: Sequence[ErrorFormat]) -> None:
    """Register the handlers on ``app`` for every error a route did not answer itself."""

    def render(request: Request, problem: Problem) -> Response | None:
        fmt = format_for(formats, request.url.path)
        if fmt is None:
            return None
        response = fmt.render(problem)
        if problem.request_id:
            response.headers["X-Request-Id"] = problem.request_id
        return response

    def query(request: Request) -> dict[str, str]:
        return {k.lower(): v for k, v in request.query_params.items()}

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        problem = Problem(exc.status_code, str(exc.detail), query=query(request))
        response = render(request, problem)
        if response is None:
            return await http_exception_handler(request, exc)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = _plain_errors(exc.errors())
        first = errors[0] if errors else {"loc": [], "msg": "Invalid request"}
        where = [str(part) for part in first["loc"][1:]]  # drop "body" / "query" / "path"
        problem = Problem(422, first["msg"], ".".join(where) or None, errors, query=query(request))
        response = render(request, problem)
        return response if response is not None else JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        if isinstance(exc, ClientDisconnect):
            # The client left while its body was being read: nothing was done, nobody is
            # there to answer, and it is not the server's fault (no traceback).
            log.info("%s %s: the client went away before its request was read", request.method, request.url.path)
            return Response(status_code=400)
        if isinstance(exc, RecursionError):
            # Bodies are measured before they are parsed (http_json); this is the last
            # line for any other deep structure that reaches a recursive stdlib routine.
            problem = Problem(400, TOO_DEEP, query=query(request))
        else:
            problem = crash(request.method, request.url.path, exc)
        response = render(request, problem)
        if response is None:
            response = JSONResponse({"detail": problem.message}, status_code=problem.status)
            if problem.request_id:
                response.headers["X-Request-Id"] = problem.request_id
        return response


class FaultInjection:
    """Raise inside the app for the paths named by ``POSTINO_FAIL_PATHS``: how tests prove a crash is answered well."""

    def __init__(self, app: Any, paths: Sequence[str]) -> None:
        self.app = app
        self.paths = frozenset(paths)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths:
            raise RuntimeError(f"fault injected at {scope['path']} (POSTINO_FAIL_PATHS)")
        await self.app(scope, receive, send)
