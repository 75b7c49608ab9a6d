"""Quotas counted in the database: "at most N uses of X per window" for one account.

Kept as rows, not in process memory, so the count is exact across every Postino
process sharing the database and is undone with the transaction that used it (a send
refused for credit does not use the quota).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, insert, select

from ...db.tables import accounts, quota_marks
from ..clock import utcnow
from ..errors import RateLimited
from ..service import Unit


async def take(unit: Unit, account_id: int, key: str, *, limit: int, window: timedelta) -> None:
    """Use one ``key`` for the account, or ``RateLimited`` if ``limit`` were used in the last ``window``."""
    now = utcnow()
    since = now - window
    if unit.is_postgres:
        # Serialise concurrent takers of one account; SQLite's write lock already does.
        await unit.conn.execute(select(accounts.c.id).where(accounts.c.id == account_id).with_for_update())
    await unit.conn.execute(
        delete(quota_marks).where(
            quota_marks.c.account_id == account_id, quota_marks.c.key == key, quota_marks.c.at < since
        )
    )
    used = await unit.conn.scalar(
        select(func.count()).where(
            quota_marks.c.account_id == account_id, quota_marks.c.key == key, quota_marks.c.at >= since
        )
    )
    if int(used or 0) >= limit:
        raise RateLimited(f"At most {limit} {key} per {int(window.total_seconds())} seconds")
    await unit.conn.execute(insert(quota_marks).values(account_id=account_id, key=key, at=now))
