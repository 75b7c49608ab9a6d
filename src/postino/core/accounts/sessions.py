"""Dashboard sessions: a browser signed in to one account.

The cookie carries a random secret; only its SHA-256 is stored, so neither a copy of the
database nor a log of it opens a session. A session ends at logout or after ``IDLE``
without use. ``last_seen_at`` is written at most every ``TOUCH_EVERY``, so browsing the
pages does not turn every read into a write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update

from ...db.tables import accounts, dashboard_sessions
from ..clock import utcnow
from ..service import Unit
from . import secrets

IDLE = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)
MAX_USER_AGENT = 200


@dataclass(frozen=True)
class Session:
    """Who a browser is: the account, and what the pages need on every request."""

    id_hash: str
    account_id: int
    email: str
    timezone: str
    operator: bool
    created_at: datetime
    last_seen_at: datetime

    def needs_touch(self, now: datetime | None = None) -> bool:
        return (now or utcnow()) - self.last_seen_at >= TOUCH_EVERY


def digest(secret: str) -> str:
    return secrets.hash_secret("session:" + secret)


async def start(unit: Unit, account_id: int, *, user_agent: str = "") -> str:
    """A new session of the account; the secret for its cookie (shown nowhere else).

    Sessions idle past ``IDLE`` are deleted here, so the table holds only live ones.
    """
    now = utcnow()
    await unit.conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.last_seen_at < now - IDLE))
    secret = secrets.token_urlsafe_chars(43)
    await unit.conn.execute(
        insert(dashboard_sessions).values(
            id_hash=digest(secret),
            account_id=account_id,
            created_at=now,
            last_seen_at=now,
            user_agent=(user_agent or "")[:MAX_USER_AGENT],
        )
    )
    return secret


async def resolve(unit: Unit, secret: str | None) -> Session | None:
    """The live session whose secret this is, else None (unknown, ended or idle too long)."""
    if not secret or len(secret) > 200:
        return None
    row = (
        await unit.conn.execute(
            select(
                dashboard_sessions.c.id_hash, dashboard_sessions.c.account_id, dashboard_sessions.c.created_at,
                dashboard_sessions.c.last_seen_at, accounts.c.email, accounts.c.timezone, accounts.c.operator,
            )
            .select_from(dashboard_sessions.join(accounts, accounts.c.id == dashboard_sessions.c.account_id))
            .where(dashboard_sessions.c.id_hash == digest(secret))
        )
    ).one_or_none()  # fmt: skip
    if row is None or utcnow() - row.last_seen_at > IDLE:
        return None
    return Session(
        row.id_hash, row.account_id, row.email, row.timezone, bool(row.operator), row.created_at, row.last_seen_at
    )


async def touch(unit: Unit, session: Session) -> None:
    """The session was used now: its idle time starts again."""
    await unit.conn.execute(
        update(dashboard_sessions).where(dashboard_sessions.c.id_hash == session.id_hash).values(last_seen_at=utcnow())
    )


async def end(unit: Unit, secret: str | None) -> None:
    """Log out: the session's row is deleted, so its cookie opens nothing any more."""
    if secret:
        await unit.conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.id_hash == digest(secret)))
