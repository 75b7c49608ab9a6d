"""Reading request parameters the ways NusaSMS clients send them.

JSON API: a JSON object, or a form (``curl -d``), where a list may come as repeated
fields or as one JSON-array string (``phone_numbers=["1", "2"]``).
v3 SMS API: the query string, plus a urlencoded or multipart body, names matched
without regard to case (``SMSText``, ``smstext``).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from ...http import is_utf8, strings
from ...http_json import loads, nests_deeper
from .render import Invalid

LIST_FIELDS = ("phone_numbers",)


class Malformed(Exception):
    """A body that cannot be read at all (v3: status -22)."""


def _loads(raw: str | bytes) -> Any:
    """``json.loads``, refusing (``ValueError``) a body that nests too deep, and a string UTF-8
    cannot carry: JSON may escape a lone surrogate (``"\\ud800"``), which no database, log or
    answer can store. (The JSON API's pydantic models refuse those themselves.)"""
    data = loads(raw)
    if not all(is_utf8(text) for text in strings(data)):
        raise ValueError("a lone surrogate escape is no text")
    return data


def _storable(body: dict[str, Any]) -> dict[str, Any]:
    """``body``, refused (422) when a field holds a NUL character: PostgreSQL stores none."""
    for key, value in body.items():
        if any("\x00" in text for text in strings(value)):
            raise Invalid([{"loc": ["body", key], "msg": "Text may not hold a NUL character", "type": "string_type"}])
    return body


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def json_api_body(request: Request) -> dict[str, Any]:
    kind = _content_type(request)
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.form()
        except Exception:  # noqa: BLE001 - any unreadable form is the client's error
            raise Invalid([{"loc": ["body"], "msg": "Malformed form body", "type": "value_error"}]) from None
        body: dict[str, Any] = {}
        for key in form.keys():
            values = [v for v in form.getlist(key) if isinstance(v, str)]
            if key in LIST_FIELDS:
                items: list[Any] = []
                for value in values:
                    if value.strip().startswith("["):
                        try:
                            items.extend(loads(value))
                        except (ValueError, TypeError):
                            raise Invalid(
                                [{"loc": ["body", key], "msg": "Invalid JSON list", "type": "value_error"}]
                            ) from None
                    else:
                        items.extend(v for v in value.split(",") if v.strip())
                body[key] = items
            elif values:
                body[key] = values[-1]
        return _storable(body)
    raw = await request.body()
    if not raw.strip():
        return {}
    if nests_deeper(raw):
        raise Invalid([{"loc": ["body", 0], "msg": "JSON decode error: nested too deep", "type": "json_invalid"}])
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise Invalid([{"loc": ["body", 0], "msg": f"JSON decode error: {exc}", "type": "json_invalid"}]) from None
    if not isinstance(data, dict):
        raise Invalid([{"loc": ["body"], "msg": "Input should be a valid dictionary", "type": "dict_type"}])
    return _storable(data)


async def v3_params(request: Request) -> dict[str, str]:
    """Query and body parameters, lower-cased names; the body wins over the query."""
    params = {k.lower(): v for k, v in request.query_params.items()}
    if request.method == "POST":
        kind = _content_type(request)
        if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                form = await request.form()
            except Exception:  # noqa: BLE001
                raise Malformed() from None
            params.update({k.lower(): v for k, v in form.items() if isinstance(v, str)})
        elif kind == "application/json":
            try:
                data = _loads(await request.body() or b"{}")
            except ValueError:
                raise Malformed() from None
            if not isinstance(data, dict):
                raise Malformed()
            params.update({str(k).lower(): "" if v is None else str(v) for k, v in data.items()})
    if any("\x00" in value for value in params.values()):  # PostgreSQL stores no NUL in text
        raise Malformed()
    return params
