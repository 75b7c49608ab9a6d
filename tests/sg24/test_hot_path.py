"""addsms's hot path: cached look-ups, group commit, and what must never be cached away."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx

from postino.core.accounts import accounts, credentials
from postino.core.messages import history
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


async def test_concurrent_addsms_written_together_each_id_is_its_own_message(
    core: Core, client: httpx.AsyncClient, monkeypatch
) -> None:
    from sqlalchemy import func, select

    from postino.core.messages import messages
    from postino.db.tables import ledger

    merged: list[int] = []
    original = messages._accept_many

    def counting(conn, entries):  # noqa: ANN001
        merged.append(len(entries))
        return original(conn, entries)

    monkeypatch.setattr(messages, "_accept_many", counting)
    alice = await make_account(core)
    phone = await register_phone(core, alice.id)
    sent = {f"+39349{1000000 + i:07d}": f"order {i} shipped" for i in range(60)}
    answers = await asyncio.gather(*(
        client.post("/getdata/addsms", data={"token": alice.sg24_token, "sendto": to, "body": body, "device_id": phone})
        for to, body in sent.items()
    ))
    ids = {}
    for (to, body), answer in zip(sent.items(), answers):
        data = answer.json()
        assert data["error"] == 0 and data["sms_ids"] == [data["sms_id"]]
        ids[data["sms_id"]] = (to, body)
    assert max(merged) > 1  # some requests shared one multi-row write
    async with core.reader() as unit:
        page = await history.search(unit, alice.id, history.Filter())
        debits = (await unit.conn.execute(
            select(func.count(), func.sum(ledger.c.amount)).where(ledger.c.account_id == alice.id, ledger.c.kind == "debit")
        )).one()
    stored = {row.id: (row.recipient, row.body) for row in page.rows}
    assert stored == ids
    assert debits[0] == 60 and debits[1] == Decimal("-2.7000")  # one ledger row per request, 0.045 each


async def test_credit_for_only_some_of_the_concurrent_addsms(core: Core, client: httpx.AsyncClient) -> None:
    alice = await make_account(core, credit="0.225", enforce=True)  # five messages at 0.045
    phone = await register_phone(core, alice.id)
    answers = await asyncio.gather(*(_send(client, alice.sg24_token, phone, f"otp {i}") for i in range(8)))
    refused = [a.json() for a in answers if a.json()["error"] == 1]
    assert len(refused) == 3 and all(r == {"error": 1, "message": "Not enough sms credit"} for r in refused)
    assert await _count(core, alice.id) == 5
    async with core.reader() as unit:
        from postino.core.accounts import billing

        assert (await billing.balance(unit, alice.id, "sms")).amount == Decimal("0")


async def test_addsms_body_over_the_cap_is_refused_even_without_a_length(settings, core: Core) -> None:
    from postino.app import create_app

    settings.max_body_bytes = 1024
    app = create_app(settings, core)

    async def chunks():
        for _ in range(4):
            yield b"body=" + b"x" * 500 + b"&"

    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            answer = await c.post("/getdata/addsms", content=chunks(),
                                  headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413
    assert answer.json() == {"error": 1, "message": "Request body too large"}
