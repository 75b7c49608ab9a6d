"""One-time registration codes: a phone joins an account by typing six digits.

The account holder asks for a code with their password; the code lives 60 seconds and
works once. Only its hash is stored, like every other secret.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert

from ...db.tables import one_time_codes
from ..clock import utcnow
from ..errors import AuthError
from ..service import Unit
from . import secrets

CODE_LIFETIME = timedelta(seconds=60)


async def issue(unit: Unit, account_id: int) -> tuple[str, datetime]:
    """A fresh code for the account and when it stops working."""
    now = utcnow()
    await unit.conn.execute(delete(one_time_codes).where(one_time_codes.c.valid_until < now))
    while True:
        code = secrets.digits(6)
        digest = secrets.hash_secret("code:" + code)
        taken = await unit.conn.scalar(
            one_time_codes.select().with_only_columns(one_time_codes.c.account_id).where(
                one_time_codes.c.code_hash == digest
            )
        )
        if taken is None:
            break
    valid_until = now + CODE_LIFETIME
    await unit.conn.execute(
        insert(one_time_codes).values(code_hash=digest, account_id=account_id, valid_until=valid_until)
    )
    return code, valid_until


async def redeem(unit: Unit, code: str) -> int:
    """The account the code belongs to; the code is used up. ``AuthError`` if unknown or expired."""
    digest = secrets.hash_secret("code:" + (code or "").strip())
    row = (
        await unit.conn.execute(
            delete(one_time_codes)
            .where(one_time_codes.c.code_hash == digest)
            .returning(one_time_codes.c.account_id, one_time_codes.c.valid_until)
        )
    ).one_or_none()
    if row is None or row.valid_until <= utcnow():
        raise AuthError("Invalid or expired code")
    return int(row.account_id)
