"""Accounts: who sends. Email is the login; the password is kept as an argon2 hash."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, func, insert, select, update

from ...db.tables import accounts
from ..clock import utcnow
from ..errors import AuthError, Conflict, InvalidInput, NotFound
from ..service import Core, Unit

_hasher = PasswordHasher()

DEFAULT_PRICES: dict[str, str] = {
    "sms_segment": "0.0450",  # money units per SMS part (MessaggiSMS shows money)
    "sms_credits_segment": "1",  # NusaSMS SMS credits per part
    "wa_text": "1",  # WA credits per started 1500 characters
    "wa_media": "2",
}


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    timezone: str
    country: str
    credit_enforced: bool
    settings: dict = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def price(self, key: str) -> Decimal:
        prices = {**DEFAULT_PRICES, **self.settings.get("prices", {})}
        return Decimal(str(prices[key]))


def _row_to_account(row) -> Account:  # noqa: ANN001
    return Account(
        id=row.id,
        email=row.email,
        timezone=row.timezone,
        country=row.country,
        credit_enforced=row.credit_enforced,
        settings=dict(row.settings or {}),
    )


def check_timezone(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # "America" is a folder of zones: OSError
        raise InvalidInput(f"Unknown time zone {tz!r}", field="timezone") from exc
    return tz


def check_country(cc: str) -> str:
    cc = cc.upper()
    if cc not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(f"Unknown country {cc!r}", field="country")
    return cc


async def hash_password(password: str) -> str:
    """argon2 is deliberately slow: keep it off the event loop."""
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def _verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(_verify)


async def create(
    unit: Unit,
    *,
    email: str,
    password: str,
    timezone: str = "UTC",
    country: str = "US",
    credit_enforced: bool = False,
    settings: dict | None = None,
) -> Account:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidInput("Invalid email", field="email")
    if len(password) < 8:
        raise InvalidInput("Password must have at least 8 characters", field="password")
    check_timezone(timezone)
    country = check_country(country)
    exists = await unit.conn.scalar(select(accounts.c.id).where(accounts.c.email == email))
    if exists is not None:
        raise Conflict(f"Account {email} already exists", field="email")
    row = (
        await unit.conn.execute(
            insert(accounts)
            .values(
                email=email,
                password_hash=await hash_password(password),
                timezone=timezone,
                country=country,
                credit_enforced=credit_enforced,
                settings=settings or {},
                created_at=utcnow(),
            )
            .returning(*accounts.c)
        )
    ).one()
    from .billing import open_balances

    await open_balances(unit, row.id)
    return _row_to_account(row)


_BY_ID = select(accounts).where(accounts.c.id == bindparam("account_id"))
"""Built once (every request reads its account; see ``credentials._BY_HASH``)."""


async def get(unit: Unit, account_id: int) -> Account:
    row = (await unit.conn.execute(_BY_ID, {"account_id": account_id})).one_or_none()
    if row is None:
        raise NotFound("Account not found")
    return _row_to_account(row)


async def find_by_email(unit: Unit, email: str) -> Account | None:
    row = (
        await unit.conn.execute(select(accounts).where(accounts.c.email == email.strip().lower()))
    ).one_or_none()
    return _row_to_account(row) if row else None


async def authenticate(unit: Unit, email: str, password: str) -> Account:
    """The account whose email and password match, else ``AuthError``."""
    row = (
        await unit.conn.execute(select(accounts).where(accounts.c.email == (email or "").strip().lower()))
    ).one_or_none()
    if row is None or not password or not await verify_password(row.password_hash, password):
        raise AuthError("Login or password incorrect")
    return _row_to_account(row)


async def list_all(unit: Unit) -> list[Account]:
    rows = (await unit.conn.execute(select(accounts).order_by(accounts.c.id))).all()
    return [_row_to_account(r) for r in rows]


async def count(unit: Unit) -> int:
    return int(await unit.conn.scalar(select(func.count()).select_from(accounts)) or 0)


async def update_settings(unit: Unit, account_id: int, **changes: object) -> Account:
    """Merge ``changes`` into the account's settings JSON (prices, limits, callback URLs)."""
    account = await get(unit, account_id)
    merged = {**account.settings, **changes}
    await unit.conn.execute(update(accounts).where(accounts.c.id == account_id).values(settings=merged))
    _forget(unit, account_id)
    return await get(unit, account_id)


async def update_profile(
    unit: Unit,
    account_id: int,
    *,
    timezone: str | None = None,
    country: str | None = None,
    credit_enforced: bool | None = None,
) -> Account:
    values: dict = {}
    if timezone is not None:
        values["timezone"] = check_timezone(timezone)
    if country is not None:
        values["country"] = check_country(country)
    if credit_enforced is not None:
        values["credit_enforced"] = credit_enforced
    if values:
        await unit.conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))
        _forget(unit, account_id)
    return await get(unit, account_id)


def _forget(unit: Unit, account_id: int) -> None:
    """Drop the cached account now and again at commit (a request may cache it in between)."""
    cached = unit.core.cache.accounts
    cached.drop(account_id)
    unit.after_commit(lambda: cached.drop(account_id))


async def get_cached(core: "Core", account_id: int) -> Account:
    """``get`` through the short-lived in-process cache (the accept hot path)."""
    account = await core.read_cached(core.cache.accounts, account_id, lambda unit: get(unit, account_id))
    assert account is not None
    return account
