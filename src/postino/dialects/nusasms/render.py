"""NusaSMS's shapes: the JSON envelope, FastAPI-style 422 lists, v3 XML/JSON results, status words."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from fastapi.responses import JSONResponse, Response

from ...core.messages import lifecycle
from ...http import Problem

# canonical state -> WhatsApp status letter (lifecycle.md)
WA_STATUS = {
    lifecycle.DRAFT: "U",
    lifecycle.SCHEDULED: "U",
    lifecycle.QUEUED: "Q",
    lifecycle.ASSIGNED: "Q",
    lifecycle.TAKEN: "S",
    lifecycle.SENT: "S",
    lifecycle.DELIVERED: "D",
    lifecycle.READ: "R",
    lifecycle.UNDELIVERED: "F",
    lifecycle.FAILED: "F",
    lifecycle.EXPIRED: "F",
    lifecycle.CANCELED: "A",
}

# canonical state -> cmd=DR dr_status
DR_STATUS = {
    lifecycle.DRAFT: "QUEUED",
    lifecycle.SCHEDULED: "QUEUED",
    lifecycle.QUEUED: "QUEUED",
    lifecycle.ASSIGNED: "QUEUED",
    lifecycle.TAKEN: "SENT",
    lifecycle.SENT: "SENT",
    lifecycle.DELIVERED: "DELIVERED",
    lifecycle.READ: "DELIVERED",
    lifecycle.UNDELIVERED: "UNDELIVERED",
    lifecycle.FAILED: "FAILED",
    lifecycle.EXPIRED: "EXPIRED",
    lifecycle.CANCELED: "FAILED",
}


class NusaError(Exception):
    """A business error of the JSON API: rendered as the error envelope."""

    def __init__(self, status: int, message: str, *, error_code: int | None = None, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code if error_code is not None else status
        self.headers = headers


class Invalid(Exception):
    """Validation errors of the JSON API: rendered as FastAPI's 422 ``detail`` list."""

    def __init__(self, detail: list[dict[str, Any]]) -> None:
        super().__init__("validation error")
        self.detail = detail


def invalid(field: str | Sequence[str | int], msg: str, kind: str = "value_error") -> Invalid:
    loc = ["body", field] if isinstance(field, str) else ["body", *field]
    return Invalid([{"loc": loc, "msg": msg, "type": kind}])


def json_api_problem(p: Problem) -> Response:
    """The JSON API's words for what no route answered: FastAPI's 422 list for invalid
    input (the provider's documented shape), the error envelope for everything else."""
    if p.status == 422:
        detail = p.errors or [{"loc": ["body"], "msg": p.message, "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)
    return error_response(NusaError(p.status, p.message))


def v3_problem(p: Problem) -> Response:
    """The v3 API answers every refusal as a result with a status code: ``-22`` (syntax)
    for a path, verb or parameter it does not know, ``-99`` for a crash."""
    status = "-99" if p.status >= 500 else "-22"
    output = "json" if (p.query or {}).get("output", "").strip().lower() == "json" else "xml"
    response = v3([{"status": status}], output)
    response.status_code = p.status
    return response


def envelope(data: Any, message: str = "Success", status: int = 200) -> JSONResponse:
    return JSONResponse({"error": False, "error_code": 0, "message": message, "data": data}, status_code=status)


def error_response(exc: NusaError) -> JSONResponse:
    return JSONResponse(
        {"error": True, "error_code": exc.error_code, "message": exc.message, "description": None, "data": None},
        status_code=exc.status,
        headers=exc.headers,
    )


def number(value: Decimal) -> int | float:
    """A balance as a JSON number: an integer when whole."""
    return int(value) if value == value.to_integral_value() else float(value)


def date(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d") if value else None


def timestamp(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def plain_decimal(value: Decimal) -> str:
    """``100`` for 100.0000, ``0.045`` for 0.0450: how a balance reads in a v3 answer."""
    text = format(value.normalize(), "f")
    return text


# --- the v3 SMS API -------------------------------------------------------------------


def v3(results: list[dict[str, str]], output: str) -> Response:
    """``{"results": [...]}`` or ``<results><result>…</result></results>``; always HTTP 200."""
    if output == "json":
        return JSONResponse({"results": results})
    return xml(results)


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML 1.0 cannot carry, escaped or not; an echoed parameter may hold them."""


def xml(results: list[dict[str, str]]) -> Response:
    parts = ['<?xml version="1.0" encoding="UTF-8"?><results>']
    for result in results:
        parts.append("<result>")
        for key, value in result.items():
            parts.append(f"<{key}>{escape(_NOT_XML.sub(chr(0xFFFD), str(value)))}</{key}>")
        parts.append("</result>")
    parts.append("</results>")
    return Response("".join(parts), media_type="application/xml")
