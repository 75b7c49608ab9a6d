"""HTTP helpers every dialect shares: a fast JSON response, integer bounds, error formats."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import JSONResponse as _StarletteJSON
from starlette.responses import Response


class JSONResponse(_StarletteJSON):
    """JSON rendered with orjson: exact, fast, and no float surprises for Decimal (as str)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_default)


def _default(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def strings(value: Any) -> Iterator[str]:
    """Every string in decoded JSON (or form fields), keys included, at any depth."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def is_utf8(text: str) -> bool:
    """False for a string JSON built from a lone surrogate escape (``"\\ud800"``): no UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable(value: Any) -> bool:
    """Whether every string in ``value`` is text a database can store: UTF-8, and no NUL
    (PostgreSQL's text holds none)."""
    return all("\x00" not in text and is_utf8(text) for text in strings(value))


INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def fits_int64(value: int) -> bool:
    """Whether ``value`` can be a database id or count: anything wider never names a row."""
    return INT64_MIN <= value <= INT64_MAX


@dataclass(frozen=True)
class Problem:
    """A request no handler answered: no route, a wrong method, invalid input, or a crash."""

    status: int
    message: str
    field: str | None = None
    errors: list[dict[str, Any]] | None = None
    """FastAPI's validation errors, for the API whose documented format is that list (NusaSMS)."""
    request_id: str | None = None
    query: dict[str, str] | None = None


@dataclass(frozen=True)
class ErrorFormat:
    """How one API words a ``Problem``: its path prefixes and its renderer.

    Each dialect and API module exposes one as ``ERRORS``; ``create_app`` answers every
    request under a prefix that meets no handler (or whose handler crashed) with it, so
    a client only ever reads its provider's own error shape.
    """

    prefixes: tuple[str, ...]
    render: Callable[[Problem], Response]

    def serves(self, path: str) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.prefixes)


_crash_log = logging.getLogger("postino.http")


def crash(method: str, path: str, exc: BaseException) -> Problem:
    """Log an exception no handler expected under a fresh request id, and the ``Problem`` to answer.

    The id is in the log line and in the answer (message and ``X-Request-Id``), so an
    operator finds the traceback a client reports.
    """
    request_id = secrets.token_hex(8)
    _crash_log.error("request %s: %s %s failed", request_id, method, path, exc_info=exc)
    return Problem(500, f"Internal server error (request id {request_id})", request_id=request_id)
