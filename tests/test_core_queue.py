"""The core without HTTP: accept, claim in queue order, lifecycle moves, leases, credit."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from postino.core.accounts import accounts, billing
from postino.core.clock import utcnow
from postino.core.devices import devices
from postino.core.errors import InsufficientCredit
from postino.core.messages import lifecycle, messages, queue
from postino.db.tables import ledger, message_events
from postino.db.tables import messages as messages_table

from .conftest import make_account


async def _phone(core, account_id: int):  # noqa: ANN001, ANN202
    async with core.unit() as unit:
        device, _token = await devices.register(
            unit, account_id, name="pixel", sim_cards=[{"slotIndex": 0, "simNumber": 1}, {"slotIndex": 1, "simNumber": 2}]
        )
    return device


async def test_claim_hands_out_urgent_then_priority_then_oldest(core, alice) -> None:
    device = await _phone(core, alice.id)
    async with core.unit() as unit:
        account = await accounts.get(unit, alice.id)
        drafts = [
            messages.Draft(recipient="+393491234567", body="old", device_id=device.id, slot=0),
            messages.Draft(recipient="+393491234567", body="prio", device_id=device.id, slot=0, priority=2.0),
            messages.Draft(recipient="+393491234567", body="urgent", device_id=device.id, slot=0, urgent=True),
            messages.Draft(recipient="+393491234567", body="newer", device_id=device.id, slot=0),
        ]
        accepted = await messages.submit(unit, account, drafts)
    async with core.unit() as unit:
        claimed = await queue.claim_for_device(unit, device.id)
    assert [r.body for r in claimed] == ["urgent", "prio", "old", "newer"]
    assert {r.state for r in claimed} == {"assigned"}
    async with core.reader() as unit:
        events = (
            await unit.conn.execute(
                select(message_events.c.state).where(message_events.c.message_id == accepted.ids[0]).order_by(message_events.c.id)
            )
        ).scalars().all()
    assert events == ["queued", "assigned"]


async def test_lifecycle_is_monotonic(core, alice) -> None:
    device = await _phone(core, alice.id)
    async with core.unit() as unit:
        account = await accounts.get(unit, alice.id)
        accepted = await messages.submit(
            unit, account, [messages.Draft(recipient="+393491234567", body="hi", device_id=device.id, slot=0)]
        )
    mid = accepted.ids[0]
    async with core.unit() as unit:
        await queue.claim_for_device(unit, device.id)
        assert await lifecycle.move(unit, [mid], lifecycle.TAKEN)
        assert await lifecycle.move(unit, [mid], lifecycle.DELIVERED)
        # a late "sent" must not move it back
        assert await lifecycle.move(unit, [mid], lifecycle.SENT) == []
        assert await lifecycle.move(unit, [999_999], lifecycle.SENT) == []
    async with core.reader() as unit:
        row = await messages.get(unit, alice.id, mid)
    assert row.state == "delivered"
    assert row.delivered_at is not None


async def test_expired_lease_requeues(core, alice) -> None:
    device = await _phone(core, alice.id)
    async with core.unit() as unit:
        account = await accounts.get(unit, alice.id)
        accepted = await messages.submit(
            unit, account, [messages.Draft(recipient="+393491234567", body="hi", device_id=device.id, slot=0)]
        )
    async with core.unit() as unit:
        await queue.claim_for_device(unit, device.id, lease_seconds=1)
    async with core.unit() as unit:
        woken = await queue.release_expired_leases(unit, now=utcnow() + timedelta(seconds=5))
    assert woken == {device.id}
    async with core.reader() as unit:
        assert (await messages.get(unit, alice.id, accepted.ids[0])).state == "queued"


async def test_scheduled_messages_enter_queue_when_due(core, alice) -> None:
    device = await _phone(core, alice.id)
    async with core.unit() as unit:
        account = await accounts.get(unit, alice.id)
        accepted = await messages.submit(
            unit,
            account,
            [messages.Draft(recipient="+393491234567", body="later", device_id=device.id, slot=0,
                            due_at=utcnow() + timedelta(minutes=5))],
        )
    assert accepted.states == ["scheduled"]
    async with core.unit() as unit:
        assert await queue.promote_due(unit) == set()
        assert await queue.promote_due(unit, now=utcnow() + timedelta(minutes=6)) == {device.id}
    async with core.reader() as unit:
        assert (await messages.get(unit, alice.id, accepted.ids[0])).state == "queued"


async def test_enforced_credit_refuses_and_writes_nothing(core) -> None:
    info = await make_account(core, "poor@example.com", "poor password", credit="0.05", enforce=True)
    device = await _phone(core, info.id)
    draft = messages.Draft(recipient="+393491234567", body="x", device_id=device.id, slot=0)
    with pytest.raises(InsufficientCredit):
        async with core.unit() as unit:
            account = await accounts.get(unit, info.id)
            await messages.submit(unit, account, [draft, draft])
    async with core.reader() as unit:
        assert (await unit.conn.execute(select(messages_table.c.id))).all() == []
        bal = await billing.balance(unit, info.id, "sms")
        assert bal.amount == Decimal("0.0500")
        assert await billing.ledger_sum(unit, info.id, "sms") == Decimal("0.0500")


async def test_ledger_sum_equals_balance_to_the_cent(core, alice) -> None:
    device = await _phone(core, alice.id)
    async with core.unit() as unit:
        account = await accounts.get(unit, alice.id)
        for _ in range(3):
            await messages.submit(
                unit, account, [messages.Draft(recipient="+393491234567", body="x" * 200, device_id=device.id, slot=0)]
            )
    async with core.reader() as unit:
        bal = await billing.balance(unit, alice.id, "sms")
        rows = (await unit.conn.execute(select(ledger.c.kind, ledger.c.amount).where(ledger.c.account_id == alice.id))).all()
    # 200 GSM characters = 2 parts at 0.045 each, three times
    assert bal.amount == Decimal("100") - Decimal("0.27")
    assert sum(r.amount for r in rows if r.kind != "topup") == Decimal("-0.2700")
    assert isinstance(bal.amount, Decimal)


async def test_concurrent_claims_never_hand_out_a_message_twice(core, alice) -> None:
    import asyncio

    device = await _phone(core, alice.id)
    async with core.unit() as unit:
        account = await accounts.get(unit, alice.id)
        accepted = await messages.submit(
            unit,
            account,
            [messages.Draft(recipient="+393491234567", body=f"m{i}", device_id=device.id, slot=0) for i in range(400)],
        )
    seen: list[int] = []

    async def claimer() -> None:
        while True:
            async with core.unit() as unit:
                rows = await queue.claim_for_device(unit, device.id, limit=25)
                fresh = [r.id for r in rows]
                # taken in the same transaction, so none can come back as "held"
                await lifecycle.move(unit, fresh, lifecycle.TAKEN)
            seen.extend(fresh)
            if not rows:
                return

    await asyncio.gather(*(claimer() for _ in range(4)))
    assert sorted(seen) == sorted(accepted.ids)
    assert len(seen) == len(set(seen))
