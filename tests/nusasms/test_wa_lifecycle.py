"""A WhatsApp message's life as NusaSMS shows it: Q -> S -> D -> R, failure refunds, timeout F.

The phone side is driven in-process through core (the claim a phone's pull makes, then
the moves its reports make); ``tests/e2e/test_nusasms_e2e.py`` does it with the
simulated phone as a real process.
"""

from __future__ import annotations

from decimal import Decimal

from postino.core.accounts import billing
from postino.core.messages import lifecycle, queue
from tests.conftest import make_account
from tests.support import wait_for

from .conftest import key, wa_phone

BASE = "/nusasms_api/1.0"


async def _status(client, api_key: str, ref: str) -> dict:  # noqa: ANN001
    r = await client.get(f"{BASE}/whatsapp/status/{ref}", headers=key(api_key))
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def _wa_balance(core, account_id: int) -> Decimal:  # noqa: ANN001
    async with core.reader() as unit:
        return (await billing.balance(unit, account_id, "wa")).amount


async def test_message_walks_q_s_d_r(client, core, alice) -> None:
    device = await wa_phone(core, alice.id)
    r = await client.post(
        f"{BASE}/whatsapp/message", headers=key(alice.api_key), json={"destination": "6281234567890", "message": "hi"}
    )
    ref = r.json()["data"]["ref_no"]
    assert (await _status(client, alice.api_key, ref))["status"] == "Q"
    async with core.unit() as unit:
        claimed = await queue.claim_for_device(unit, device.id, slots=[2])
    assert [str(m.id) for m in claimed] == [ref] and claimed[0].channel == "whatsapp"
    assert (await _status(client, alice.api_key, ref))["status"] == "Q"  # assigned is still queued
    seen = []
    for state in (lifecycle.TAKEN, lifecycle.SENT, lifecycle.DELIVERED, lifecycle.READ):
        async with core.unit() as unit:
            assert await lifecycle.move(unit, [int(ref)], state)
        seen.append((await _status(client, alice.api_key, ref))["status"])
    assert seen == ["S", "S", "D", "R"]
    data = await _status(client, alice.api_key, ref)
    assert data["sent_date"] and data["delivered_date"] and data["read_date"]
    assert await _wa_balance(core, alice.id) == Decimal("99")


async def test_credit_per_started_1500_characters_and_2_for_media(client, core, alice) -> None:
    await wa_phone(core, alice.id)
    before = await _wa_balance(core, alice.id)
    for text in ("x" * 1500, "x" * 1501):
        r = await client.post(
            f"{BASE}/whatsapp/message", headers=key(alice.api_key), json={"destination": "6281234567890", "message": text}
        )
        assert r.status_code == 201
    assert before - await _wa_balance(core, alice.id) == Decimal("3")  # 1 + 2


async def test_failed_message_returns_its_credit(client, core, alice) -> None:
    device = await wa_phone(core, alice.id)
    r = await client.post(
        f"{BASE}/whatsapp/message", headers=key(alice.api_key),
        json={"destination": "6281234567890", "message": "y" * 2000},
    )  # fmt: skip
    ref = int(r.json()["data"]["ref_no"])
    assert await _wa_balance(core, alice.id) == Decimal("98")
    async with core.unit() as unit:
        await queue.claim_for_device(unit, device.id)
        await lifecycle.move(unit, [ref], lifecycle.TAKEN)
        await lifecycle.move(unit, [ref], lifecycle.FAILED, reason="generic", error="RESULT_ERROR_GENERIC_FAILURE")
    assert (await _status(client, alice.api_key, str(ref)))["status"] == "F"
    assert await _wa_balance(core, alice.id) == Decimal("100")
    async with core.unit() as unit:  # a late duplicate report pays nothing more
        assert await lifecycle.move(unit, [ref], lifecycle.FAILED) == []
        assert await billing.ledger_sum(unit, alice.id, "wa") == Decimal("100")


async def test_timeout_turns_an_unsent_message_into_f_and_refunds(client, core, alice) -> None:
    await wa_phone(core, alice.id)
    r = await client.post(
        f"{BASE}/whatsapp/message", headers=key(alice.api_key),
        json={"destination": "6281234567890", "message": "late", "timeout": 1},
    )  # fmt: skip
    ref = r.json()["data"]["ref_no"]
    # The scheduler (running in the app's lifespan) expires it once its second is over.
    await wait_for(
        lambda: _status_is(client, alice.api_key, ref, "F"), timeout=10, interval=0.1,
        message="timed-out message to become F",
    )
    assert await _wa_balance(core, alice.id) == Decimal("100")


async def _status_is(client, api_key: str, ref: str, letter: str) -> bool:  # noqa: ANN001
    return (await _status(client, api_key, ref))["status"] == letter


async def test_not_enough_or_expired_wa_credit_is_402_and_nothing_queued(client, core) -> None:
    from datetime import timedelta

    from postino.core.clock import utcnow

    poor = await make_account(core, "poor@example.com", "poor password", wa_credit=None, enforce=True)
    await wa_phone(core, poor.id)
    payload = {"destination": "6281234567890", "message": "hi"}
    r = await client.post(f"{BASE}/whatsapp/message", headers=key(poor.api_key), json=payload)
    assert r.status_code == 402
    assert r.json()["error"] is True and r.json()["error_code"] == 402
    async with core.unit() as unit:
        await billing.top_up(unit, poor.id, "wa", Decimal("5"), expires_at=utcnow() - timedelta(days=1))
    r = await client.post(f"{BASE}/whatsapp/message", headers=key(poor.api_key), json=payload)
    assert r.status_code == 402 and r.json()["message"] == "WA balance expired"
    async with core.reader() as unit:
        assert await billing.ledger_sum(unit, poor.id, "wa") == Decimal("5")
        from sqlalchemy import func, select

        from postino.db.tables import messages

        assert await unit.conn.scalar(select(func.count()).select_from(messages).where(messages.c.account_id == poor.id)) == 0
