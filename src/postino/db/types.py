"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

MONEY_SCALE = 10_000


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, hands back aware UTC; SQLite has no time zones to keep."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def bind_processor(self, dialect) -> Callable[[Any], Any] | None:  # noqa: ANN001
        """On SQLite, one C call for a datetime (``isoformat``), the very text SQLAlchemy's
        ``DATETIME`` writes; anything else takes SQLAlchemy's own way. A message accept binds
        four timestamps, and the general chain (this class, then the dialect's ``%`` format)
        was the largest part of building its rows."""
        general = super().bind_processor(dialect)
        if dialect.name != "sqlite" or general is None:
            return general

        def process(value: Any) -> Any:
            if type(value) is datetime:
                return self.process_bind_param(value, dialect).isoformat(" ", "microseconds")
            return general(value)

        return process

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text in aggregate results
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc)


class Money(TypeDecorator[Decimal]):
    """Decimal money kept as an integer count of ten-thousandths.

    SQLite has no exact decimal type (NUMERIC becomes REAL), so sums would be floats;
    integers sum exactly on both engines.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect) -> int | None:  # noqa: ANN001
        if value is None:
            return None
        return int((Decimal(value) * MONEY_SCALE).to_integral_value())

    def process_result_value(self, value: int | None, dialect) -> Decimal | None:  # noqa: ANN001
        if value is None:
            return None
        return (Decimal(int(value)) / MONEY_SCALE).quantize(Decimal("0.0001"))
