"""addsms's hot path: cached look-ups, group commit, and what must never be cached away."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx

from postino.core import accounts, credentials, history
from postino.core.service import Core
from tests.conftest import make_account
from tests.sg24.conftest import register_phone


def _send(client: httpx.AsyncClient, token: str, device_id: int, body: str):
    return client.post(
        "/getdata/addsms", data={"token": token, "sendto": "+393491234567", "body": body, "device_id": device_id}
    )


async def _count(core: Core, account_id: int) -> int:
    async with core.reader() as unit:
        return await history.count(unit, account_id, history.Filter())


async def test_concurrent_addsms_one_refused_in_the_write_others_stored(
    core: Core, client: httpx.AsyncClient
) -> None:
    rich = await make_account(core, "rich@example.com")
    broke = await make_account(core, "broke@example.com", credit=None, enforce=True)
    rich_phone = await register_phone(core, rich.id)
    broke_phone = await register_phone(core, broke.id)
    sends = [_send(client, rich.sg24_token, rich_phone, f"ok {i}") for i in range(10)]
    sends.insert(5, _send(client, broke.sg24_token, broke_phone, "no credit"))
    answers = [r.json() for r in await asyncio.gather(*sends)]
    refused = answers.pop(5)
    assert refused == {"error": 1, "message": "Not enough sms credit"}
    assert all(a["error"] == 0 for a in answers)
    assert len({a["sms_id"] for a in answers}) == 10
    assert await _count(core, rich.id) == 10
    assert await _count(core, broke.id) == 0


async def test_token_revoked_by_another_process_is_refused_on_the_next_request(
    core: Core, client: httpx.AsyncClient, settings
) -> None:
    alice = await make_account(core)
    phone = await register_phone(core, alice.id)
    assert (await _send(client, alice.sg24_token, phone, "first")).json()["error"] == 0  # now cached
    other = Core(settings)  # another process: its revoke cannot touch this process's cache
    try:
        async with other.reader() as unit:
            credential = await credentials.resolve(unit, alice.sg24_token, ("sg24",))
        async with other.unit() as unit:
            await credentials.revoke(unit, alice.id, credential.id)
    finally:
        await other.db.dispose()
    assert (await _send(client, alice.sg24_token, phone, "second")).json() == {"error": 1, "message": "Token is wrong"}
    assert await _count(core, alice.id) == 1


async def test_price_change_in_this_process_applies_to_the_next_message(
    core: Core, client: httpx.AsyncClient
) -> None:
    alice = await make_account(core)
    phone = await register_phone(core, alice.id)
    first = (await _send(client, alice.sg24_token, phone, "before")).json()
    async with core.unit() as unit:
        await accounts.update_settings(unit, alice.id, prices={"sms_segment": "0.5"})
    second = (await _send(client, alice.sg24_token, phone, "after")).json()
    async with core.reader() as unit:
        page = await history.search(unit, alice.id, history.Filter())
    prices = {row.id: row.price for row in page.rows}
    assert prices[first["sms_id"]] == Decimal("0.0450")
    assert prices[second["sms_id"]] == Decimal("0.5000")
