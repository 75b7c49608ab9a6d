"""The date formats SmsGateway24 clients write, read in a given time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

SECOND, MINUTE, DAY = timedelta(seconds=1), timedelta(minutes=1), timedelta(days=1)
SEND_FORMATS = (
    ("%Y-%m-%d %H:%M:%S", SECOND),
    ("%Y-%m-%d %H:%M", MINUTE),
    ("%Y-%m-%dT%H:%M:%S", SECOND),
    ("%Y-%m-%dT%H:%M", MINUTE),
    ("%Y-%m-%d", DAY),
)
PAKET_FORMATS = (("%d.%m.%Y %H:%M:%S", SECOND), ("%d.%m.%Y %H:%M", MINUTE), ("%d.%m.%Y", DAY))


@dataclass(frozen=True)
class Moment:
    at: datetime
    """Aware UTC."""
    until: datetime
    """Where the written moment ends (aware UTC), by the precision written: ``enddate=2024-01-10``
    includes that whole day, ``… 09:00`` that whole minute."""

    def end(self) -> datetime:
        return self.until


def parse(text: str, zone: ZoneInfo, *, paket: bool = False) -> Moment:
    """``YYYY-MM-DD[ HH:MM[:SS]]`` (and, for newsletters, ``DD.MM.YYYY[ H:i[:s]]``) in ``zone``.

    Raises ``ValueError`` for anything else, and for a time that only exists before the
    year 1 or after 9999 once moved to UTC.
    """
    text = " ".join(text.split())
    for fmt, span in (PAKET_FORMATS + SEND_FORMATS) if paket else SEND_FORMATS:
        try:
            local = datetime.strptime(text, fmt)
        except ValueError:
            continue
        try:
            return Moment(_to_utc(local, zone), _to_utc(local + span, zone))
        except OverflowError:
            raise ValueError(text) from None
    raise ValueError(text)


def _to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    return local.replace(tzinfo=zone).astimezone(timezone.utc)
