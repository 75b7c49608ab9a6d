"""Reading what a phone sends: JSON bodies, timestamps, and the shape checks that give 400s."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson
from fastapi import Request

from ..http import strings
from .errors import ApiError


async def read_json(request: Request, *, empty: Any = ...) -> Any:
    """The request's JSON body; ``empty`` is returned for an empty body when given, else 400."""
    body = await request.body()
    if not body.strip():
        if empty is not ...:
            return empty
        raise ApiError(400, "Request body is empty: a JSON document is expected")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"Invalid JSON: {exc}") from exc
    if b"\\u0000" in body and any("\x00" in text for text in strings(data)):  # PostgreSQL stores no NUL in text
        raise ApiError(400, "Invalid JSON: text may not hold a NUL character (\\u0000)")
    return data


def optional_str(data: dict, key: str, *, max_len: int = 500) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{key} must be a string")
    if len(value) > max_len:
        raise ApiError(400, f"{key} is longer than {max_len} characters")
    return value


def parse_time(value: Any) -> datetime | None:
    """An instant the app sent: ISO 8601 text, or epoch milliseconds/seconds as a number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 100_000_000_000 else value
        try:
            return datetime.fromtimestamp(seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        try:
            return parsed.astimezone(timezone.utc)
        except OverflowError:  # 9999-12-31T23:59-14:00 is in the year 10000 in UTC
            return None
    return None


def iso(value: datetime | None) -> str | None:
    """Times as the app's server writes them: RFC 3339, UTC, milliseconds."""
    if value is None:
        return None
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
