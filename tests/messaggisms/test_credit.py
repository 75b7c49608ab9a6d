"""Credit: exact to the cent over many messages; not enough credit queues nothing."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from postino.core.accounts import accounts, billing
from postino.db.tables import batches, ledger, messages
from tests.conftest import make_account

from .conftest import add_phone, bearer


async def counts(core, account_id: int) -> tuple[int, int, int]:  # noqa: ANN001
    async with core.reader() as unit:
        n_messages = await unit.conn.scalar(select(func.count()).where(messages.c.account_id == account_id))
        n_batches = await unit.conn.scalar(select(func.count()).where(batches.c.account_id == account_id))
        n_ledger = await unit.conn.scalar(select(func.count()).where(ledger.c.account_id == account_id))
    return n_messages, n_batches, n_ledger


async def test_ten_thousand_messages_exact_to_the_cent(client, core) -> None:
    info = await make_account(core, "bulk@example.com", "bulk password", credit="1000", enforce=True)
    await add_phone(core, info.id)
    async with core.unit() as unit:
        await accounts.update_settings(unit, info.id, prices={"sms_segment": "0.0317"})
    numbers = [f"+39-34{i:08d}" for i in range(10_000)]
    r = await client.post("/messages/", headers=bearer(info.bearer_token),
                          json={"sender": "bulk", "body": "Ciao", "recipients": numbers, "priority": 1.5})
    assert r.status_code == 201, r.text
    m = r.json()["data"][0]
    # 0.0317 x 1.5 = 0.04755 per message, charged as 0.0476
    assert m["recipients"]["valid"]["count"] == 10_000
    assert m["price"] == 476.0 and m["base_price"] == 317.0
    assert r.json()["credit"] == "524"
    two_parts = "x" * 200
    r = await client.post("/messages/", headers=bearer(info.bearer_token),
                          json={"sender": "bulk", "body": two_parts, "recipients": numbers[:7], "priority": 1.5})
    assert r.status_code == 201 and r.json()["data"][0]["price"] == 0.6657  # 7 x 0.0951
    async with core.reader() as unit:
        balance = (await billing.balance(unit, info.id, "sms")).amount
        total = await billing.ledger_sum(unit, info.id, "sms")
        charged = await unit.conn.scalar(select(func.sum(messages.c.price)).where(messages.c.account_id == info.id))
    assert isinstance(balance, Decimal)
    assert balance == total == Decimal("523.3343")
    assert charged == Decimal("476.6657")
    assert r.json()["credit"] == "523.3343"


async def test_not_enough_credit_queues_nothing(client, core) -> None:
    info = await make_account(core, "poor@example.com", "poor password", credit="0.1", enforce=True)
    await add_phone(core, info.id)
    h = bearer(info.bearer_token)
    before = await counts(core, info.id)
    r = await client.post("/messages/", headers=h, json={"sender": "abc", "body": "x", "recipients": ["+39-3491234567"] * 3})
    assert (r.status_code, r.json()["error"], r.json()["data"], r.json()["credit"]) == (402, 201, None, "0.1")
    assert await counts(core, info.id) == before
    # a transaction opens free, and closing it without credit changes nothing
    r = await client.post("/messages/", headers=h, json={"sender": "abc", "body": "x", "recipients": ["+39-3491234567"] * 3,
                                                         "transaction": True})
    assert r.status_code == 201
    mid = r.json()["data"][0]["id"]
    r = await client.put(f"/messages/{mid}/", headers=h, json={"transaction": False})
    assert (r.status_code, r.json()["error"]) == (402, 201)
    async with core.reader() as unit:
        states = (await unit.conn.execute(select(messages.c.state).where(messages.c.account_id == info.id))).scalars().all()
        assert states == ["draft"] * 3
        assert (await billing.balance(unit, info.id, "sms")).amount == Decimal("0.1000")
    m = (await client.get(f"/messages/{mid}", headers=h)).json()["data"][0]
    assert m["transaction"] is True
