"""Fixtures of the fuzz tests: an account whose login is cheap to check, with a phone."""

from __future__ import annotations

import pytest
import pytest_asyncio
from argon2 import PasswordHasher
from limits.aio.storage import MemoryStorage
from sqlalchemy import update

from postino.core.accounts.ratelimit import RateLimiter, _limiters
from postino.db.tables import accounts
from tests.conftest import AccountInfo, make_account
from tests.sg24.conftest import SLOTS, register_phone

CHEAP_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""The account's password is checked with argon2 as always, with parameters that take a
millisecond: a fuzz test makes hundreds of logins and is about parsing, not hashing."""


@pytest_asyncio.fixture
async def account(core) -> AccountInfo:  # noqa: ANN001
    info = await make_account(core, "fuzz@example.com", "fuzz password 1")
    async with core.unit() as unit:
        await unit.conn.execute(
            update(accounts).where(accounts.c.id == info.id).values(password_hash=CHEAP_HASH.hash(info.password))
        )
    return info


@pytest_asyncio.fixture
async def phone(core, account) -> int:  # noqa: ANN001
    """The account's phone: SMS slots 0 and 1, WhatsApp on slot 2."""
    return await register_phone(core, account.id, sim_cards=SLOTS)


@pytest.fixture
def unlimited(core):  # noqa: ANN001, ANN201
    """No NusaSMS rate limit (one hit per 50 ms is tested on its own): every fuzzed request reaches its route."""
    _limiters[core] = RateLimiter(MemoryStorage(), amount=1_000_000)
    yield
    _limiters.pop(core, None)
