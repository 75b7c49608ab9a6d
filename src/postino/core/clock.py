"""One source of 'now', in UTC, so every stored time means the same thing."""

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
