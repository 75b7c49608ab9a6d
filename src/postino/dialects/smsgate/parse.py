"""Reading request values the way the SMS Gate server does: RFC 3339 times, bounded integers, flags."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .errors import ApiError


def timestamp(value: Any, name: str) -> datetime | None:
    """An RFC 3339 time (``Z`` or an offset; a time without one is UTC), or None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be an RFC 3339 time")
    try:
        # A "+01:00" written unencoded in a query string arrives as " 01:00".
        parsed = datetime.fromisoformat(value.strip().replace(" ", "+"))
    except ValueError:
        raise ApiError(400, f"{name} must be an RFC 3339 time, like 2025-01-31T12:00:00Z") from None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def integer(value: Any, name: str, low: int, high: int, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ApiError(400, f"{name} must be an integer")
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ApiError(400, f"{name} must be an integer") from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise ApiError(400, f"{name} must be an integer")
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low} and {high}")
    return value


def flag(value: Any, name: str, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    raise ApiError(400, f"{name} must be true or false")


def text(value: Any, name: str, max_len: int, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise ApiError(400, f"{name} is required")
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string")
    if len(value) > max_len:
        raise ApiError(400, f"{name} must be at most {max_len} characters")
    return value
