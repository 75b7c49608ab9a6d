"""The hot path's short-lived caches: one read per expired entry, however many ask."""

from __future__ import annotations

import asyncio

import pytest

from postino.core.accounts import accounts
from postino.core.cache import TTLCache
from postino.core.service import Core

from .conftest import AccountInfo
from .support import with_every_pooled_connection_held


class Reads:
    """A loader that counts its calls and finishes when told to."""

    def __init__(self, value: object = "row") -> None:
        self.calls = 0
        self.value = value
        self.release = asyncio.Event()

    async def __call__(self) -> object:
        self.calls += 1
        await self.release.wait()
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


async def test_concurrent_misses_share_one_read() -> None:
    cache: TTLCache[str] = TTLCache()
    read = Reads("account 7")
    waiting = [asyncio.create_task(cache.fetch(7, read)) for _ in range(64)]
    await asyncio.sleep(0)
    read.release.set()
    assert await asyncio.gather(*waiting) == ["account 7"] * 64
    assert read.calls == 1
    assert cache.get(7) == "account 7"
    assert await cache.fetch(7, Reads("not read")) == "account 7"


async def test_an_error_reaches_every_waiter_and_is_not_kept() -> None:
    cache: TTLCache[str] = TTLCache()
    read = Reads(LookupError("Device not found"))
    waiting = [asyncio.create_task(cache.fetch("d", read)) for _ in range(3)]
    await asyncio.sleep(0)
    read.release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert [str(r) for r in results] == ["Device not found"] * 3
    assert read.calls == 1
    again = Reads("found now")
    again.release.set()
    assert await cache.fetch("d", again) == "found now"


async def test_none_is_answered_but_not_kept() -> None:
    cache: TTLCache[str] = TTLCache()
    read = Reads(None)
    read.release.set()
    assert await cache.fetch("token", read) is None
    assert await cache.fetch("token", read) is None
    assert read.calls == 2


async def test_a_caller_that_goes_away_does_not_cancel_the_read_for_others() -> None:
    cache: TTLCache[str] = TTLCache()
    read = Reads("row")
    gone = asyncio.create_task(cache.fetch("k", read))
    stays = asyncio.create_task(cache.fetch("k", read))
    await asyncio.sleep(0)
    gone.cancel()
    read.release.set()
    assert await stays == "row"
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert read.calls == 1


async def test_a_drop_during_the_read_keeps_its_answer_out_of_the_cache() -> None:
    cache: TTLCache[str] = TTLCache()
    read = Reads("settings before the change")
    waiting = asyncio.create_task(cache.fetch(1, read))
    await asyncio.sleep(0)
    cache.drop(1)  # this process changed the account while the read was out
    read.release.set()
    assert await waiting == "settings before the change"
    assert cache.get(1) is None


async def test_a_cached_read_answers_while_the_requests_asking_hold_every_pooled_connection(
    core: Core, alice: AccountInfo
) -> None:
    """Requests that hold a connection and then need a cached row must not wait on themselves:
    the load reads on a pool of its own."""
    core.cache.accounts.clear()

    async def read_account(_i: int, _unit: object) -> str:
        return (await accounts.get_cached(core, alice.id)).email

    emails = await with_every_pooled_connection_held(core, read_account)
    assert emails == ["alice@example.com"] * len(emails) and len(emails) >= 30
