"""``/getdata/<method>`` answered straight from ASGI, ahead of FastAPI's router.

A shop plugin sends one ``addsms`` per order, an OTP service one per login, a CRM polls
``getallsms``. FastAPI's route matching and middleware cost more than a durable accept,
so these handlers read the request and answer with the same ``parse`` and method
functions the regular routes use, without them. Requests they do not serve as well (a
file upload, another verb) go on to the regular routes, which also keep the methods in
the OpenAPI document.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from ...core.service import Core
from ...http import crash
from .errors import Sg24Error
from .params import parse
from .routes import HANDLERS, Handler, answer

log = logging.getLogger("postino.sg24")

PREFIX = "/getdata/"
_JSON = [(b"content-type", b"application/json")]


class TooLarge(Exception):
    """The body passed the operator's cap (``POSTINO_MAX_BODY_BYTES``)."""


def routes(core: Core, max_body_bytes: int) -> dict[str, Any]:
    """The fast handler of every method, by path, for ``Postino.fast_routes``."""
    return {PREFIX + name: route(core, max_body_bytes, handler) for name, handler in HANDLERS.items()}


def route(core: Core, max_body_bytes: int, handler: Handler) -> Any:
    """The fast handler of one method."""

    async def handle(scope: dict, receive: Any, send: Any, fallback: Any) -> None:
        method = scope["method"]
        content_type = ""
        has_body = False
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1").lower()
            elif name in (b"content-length", b"transfer-encoding"):
                has_body = True
        if method not in ("GET", "POST") or content_type.startswith("multipart/"):
            await fallback(scope, receive, send)
            return
        try:
            body = await _body(receive, max_body_bytes) if (has_body or method == "POST") else b""
        except TooLarge:
            await _send(send, 413, orjson.dumps({"error": 1, "message": "Request body too large"}), _JSON)
            return
        try:
            try:
                params = parse(scope["query_string"].decode("latin-1"), content_type, body)
            except Sg24Error as exc:
                result: dict[str, Any] = {"error": 1, "message": exc.message}
            else:
                result = await answer(handler, core, params)
        except Exception as exc:  # noqa: BLE001 - what the app's error handler does for any route
            problem = crash(method, scope["path"], exc)
            body = orjson.dumps({"error": 1, "message": problem.message})
            await _send(send, 500, body, [*_JSON, (b"x-request-id", problem.request_id.encode())])
            return
        await _send(send, 200, orjson.dumps(result), _JSON)

    return handle


async def _body(receive: Any, cap: int) -> bytes:
    """The whole request body, counted as it arrives (a chunked body has no Content-Length)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            raise TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _send(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
