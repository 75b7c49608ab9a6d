"""JSON bodies refused before they nest deep enough to reach the interpreter's recursion limit.

The stdlib parser (``json.loads``, which Starlette's ``Request.json`` and two dialects
use) recurses once per nesting level, so a body nested 10,000 deep parses down to the
recursion limit before it fails. Catching that ``RecursionError`` is not enough: a garbage
collection that happens to run down there calls finalizers (of abandoned coroutines, of
connections) with no stack left, and those fail where nobody can catch them. A body is
therefore measured first, and one that nests deeper than :data:`MAX_DEPTH` is refused as
malformed, in each API's own words. (orjson, which the other dialects use, keeps its own
bound and does not recurse on the Python stack.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

MAX_DEPTH = 64
"""Arrays and objects inside each other; the bodies of every API here nest at most 4 deep."""

TOO_DEEP = "The request body nests too deep"

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKET = re.compile(rb"[\[\]{}]")


def nests_deeper(text: str | bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON ``text`` opens more than ``limit`` arrays or objects inside each other.

    Brackets inside strings do not count. A body with fewer brackets than ``limit`` in all
    (every real request) is answered by two counts, without a scan.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth = 0
    for mark in _BRACKET.findall(_STRING.sub(b"", data)):
        if mark in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def loads(text: str | bytes) -> Any:
    """``json.loads``, raising ``ValueError`` for a body that nests deeper than :data:`MAX_DEPTH`."""
    if nests_deeper(text):
        raise ValueError(TOO_DEEP)
    return json.loads(text)


class _MeasuredRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            if nests_deeper(body):
                # FastAPI passes an HTTPException through; the app's handlers word it per API.
                raise HTTPException(400, TOO_DEEP)
            self._json = json.loads(body)
        return self._json


class MeasuredJSONRoute(APIRoute):
    """A route whose JSON body model is only parsed once the body is known not to nest too deep."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            return await handler(_MeasuredRequest(request.scope, request.receive, request._send))

        return run
