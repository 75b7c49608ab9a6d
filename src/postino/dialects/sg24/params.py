"""Reading an SmsGateway24 request: query string, url-encoded or multipart form, or JSON.

SmsGateway24 clients are PHP scripts, spreadsheet macros and shop plugins; they send the
same fields every way HTTP allows. Everything is merged into one flat mapping (body over
query, last value wins, keys lower-cased so ``customerId`` is ``customerid``) and read
with small typed getters. An empty string means "not given". No pydantic here: this is
the hot path of ``addsms``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request

from ...http import fits_int64
from .errors import Sg24Error

MAX_FORM_PART = 32 * 1024 * 1024
"""A multipart text part may hold a whole 10,000-item ``datajson``; the app's body cap still applies."""


class Params:
    """The request's fields, flat and case-insensitive, plus any uploaded files."""

    __slots__ = ("values", "files")

    def __init__(self, values: dict[str, Any] | None = None, files: dict[str, UploadFile] | None = None) -> None:
        self.values = values or {}
        self.files = files or {}
        for name, value in self.values.items():
            if isinstance(value, str) and "\x00" in value:  # PostgreSQL stores no NUL in text
                raise Sg24Error(f"Field {name} holds a NUL character")

    @classmethod
    def of(cls, mapping: dict[str, Any]) -> "Params":
        """Params over a JSON object (an ``smsdata`` item or a decoded ``datajson``)."""
        return cls({str(k).lower(): v for k, v in mapping.items()})

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        """The field as text, unstripped (a leading space can mean a lost ``+``); None if empty."""
        value = self.values.get(name)
        if value is None or isinstance(value, (dict, list)):
            return None
        if isinstance(value, bool):
            return "1" if value else "0"
        if not isinstance(value, str):
            value = str(value)
        return value if value.strip() else None

    def stripped(self, name: str) -> str | None:
        value = self.text(name)
        return value.strip() if value is not None else None

    def required(self, name: str) -> str:
        value = self.stripped(name)
        if value is None:
            raise Sg24Error(f"Field {name} is required")
        return value

    def integer(self, name: str, error: str) -> int | None:
        """An integer field; ``error`` when it is given but is not a whole number a 64-bit
        column can hold (no wider number names a row or fits a filter)."""
        value = self.values.get(name)
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            text = self.stripped(name)
            if text is None:
                return None
            try:
                value = int(text)
            except ValueError:
                raise Sg24Error(error) from None
        if not fits_int64(value):
            raise Sg24Error(error)
        return value

    def flag(self, name: str) -> bool:
        """``1``/``true``/``yes`` is on; empty, ``0``, ``false`` are off."""
        text = self.stripped(name)
        if text is None:
            return False
        return text.lower() not in ("0", "false", "no", "off")


def _lower(pairs: Any) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in pairs}


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


async def read(request: Request) -> Params:
    """All fields of the request, wherever the client put them."""
    query = request.scope.get("query_string", b"").decode("latin-1")
    headers = request.headers
    if request.method == "GET" and "content-length" not in headers and "transfer-encoding" not in headers:
        return parse(query, "", b"")
    content_type = headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        values = _lower(parse_qsl(query, keep_blank_values=True))
        files: dict[str, UploadFile] = {}
        try:
            form = await request.form(max_part_size=MAX_FORM_PART)
        except Exception as exc:  # noqa: BLE001 - a broken multipart body is the client's error
            raise Sg24Error("Malformed multipart body") from exc
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key.lower()] = value
            else:
                values[key.lower()] = value
        return Params(values, files)
    return parse(query, content_type, await request.body())


def parse(query: str, content_type: str, body: bytes) -> Params:
    """The fields of a request without files: query string, then a url-encoded or JSON body over it.

    ``content_type`` is lower-cased. Shared by ``read`` and the ``addsms`` fast path, so
    both understand a request the same way.
    """
    values = _lower(parse_qsl(query, keep_blank_values=True)) if query else {}
    if not body.strip():
        return Params(values)
    if "json" in content_type or body.lstrip()[:1] == b"{":
        # Many clients post a JSON object with curl's default url-encoded content type.
        obj = _json_object(body)
        if obj is not None:
            values.update(_lower(obj.items()))
            return Params(values)
        if "json" in content_type:
            raise Sg24Error("Malformed JSON body")
    values.update(_form_pairs(body.decode("utf-8", errors="replace")))
    return Params(values)


def _form_pairs(text: str) -> dict[str, str]:
    """``parse_qsl(text, keep_blank_values=True)``, lower-cased keys, unquoting only what is quoted.

    The same pairs as the standard library's, a few times faster on the usual body where
    most fields need no unquoting (this runs for every ``addsms``).
    """
    values: dict[str, str] = {}
    for pair in text.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if "+" in name or "%" in name:
            name = unquote_plus(name)
        if "+" in value or "%" in value:
            value = unquote_plus(value)
        values[name.lower()] = value
    return values
