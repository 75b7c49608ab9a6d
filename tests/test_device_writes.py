"""The phone's writes: claims that renew leases past half their time, batched reports, ``write_now``, coalesced wake-ups."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from postino.core.accounts import accounts
from postino.core.clock import utcnow
from postino.core.devices import devices
from postino.core.devices import reports as device_reports
from postino.core.messages import messages, queue
from postino.core.service import Unit
from postino.db.tables import message_events
from postino.db.tables import messages as messages_table
from postino.device_api.events import _coalesced


async def _phone(core, account_id: int):  # noqa: ANN001, ANN202
    async with core.unit() as unit:
        device, _token = await devices.register(unit, account_id, name="pixel")
    return device


async def _queue(core, account_id: int, device_id: int, *bodies: str) -> list[int]:  # noqa: ANN001
    async with core.unit() as unit:
        account = await accounts.get(unit, account_id)
        drafts = [messages.Draft(recipient="+393491234567", body=b, device_id=device_id, slot=0) for b in bodies]
        return (await messages.submit(unit, account, drafts)).ids


async def _row(core, message_id: int):  # noqa: ANN001, ANN202
    async with core.reader() as unit:
        return (await unit.conn.execute(select(messages_table).where(messages_table.c.id == message_id))).one()


async def _events(core, message_id: int) -> list[str]:  # noqa: ANN001
    async with core.reader() as unit:
        rows = await unit.conn.execute(
            select(message_events.c.state).where(message_events.c.message_id == message_id).order_by(message_events.c.id)
        )
        return list(rows.scalars())


async def test_a_held_message_comes_back_its_lease_renewed_only_past_half_its_time(core, alice) -> None:
    device = await _phone(core, alice.id)
    (mid,) = await _queue(core, alice.id, device.id, "hello")
    first = await core.write_now(lambda unit: queue.claim_for_device(unit, device.id, lease_seconds=60))
    assert [r.id for r in first] == [mid] and first[0].state == "assigned"
    leased = (await _row(core, mid)).lease_until
    again = await core.write_now(lambda unit: queue.claim_for_device(unit, device.id, lease_seconds=60))
    assert [r.id for r in again] == [mid]
    row = await _row(core, mid)
    assert row.lease_until == leased and row.attempts == 1  # a fresh lease: the pull wrote nothing
    # a phone pacing its sends pulls again later: a lease past half its time is renewed
    async with core.unit() as unit:
        await unit.conn.execute(
            messages_table.update().where(messages_table.c.id == mid).values(lease_until=utcnow() + timedelta(seconds=20))
        )
    await core.write_now(lambda unit: queue.claim_for_device(unit, device.id, lease_seconds=60))
    renewed = await _row(core, mid)
    assert renewed.lease_until > utcnow() + timedelta(seconds=50) and renewed.attempts == 1
    # a phone that stops pulling and never confirms loses it when the lease ends
    async with core.unit() as unit:
        assert await queue.release_expired_leases(unit, now=renewed.lease_until + timedelta(seconds=1)) == {device.id}
    assert (await _row(core, mid)).state == "queued"


async def test_a_claim_returns_the_rows_as_stored(core, alice) -> None:
    device = await _phone(core, alice.id)
    await _queue(core, alice.id, device.id, "a", "b")
    claimed = await core.write_now(lambda unit: queue.claim_for_device(unit, device.id))
    for row in claimed:
        stored = await _row(core, row.id)
        assert (row.state, row.lease_until, row.attempts, row.body) == (
            stored.state, stored.lease_until, stored.attempts, stored.body
        )


async def test_several_reports_of_one_message_in_one_batch_apply_in_the_order_sent(core, alice) -> None:
    device = await _phone(core, alice.id)
    ok, contrary = await _queue(core, alice.id, device.id, "ok", "contrary")
    async with core.unit() as unit:
        await queue.claim_for_device(unit, device.id)
    now = utcnow()
    reports = [
        device_reports.Report(ok, "Processed", times={"Processed": now - timedelta(seconds=3)}),
        device_reports.Report(ok, "Sent", times={"Processed": now - timedelta(seconds=3), "Sent": now}),
        device_reports.Report(ok, "Delivered", times={"Delivered": now}),
        # failed first: the later "Delivered" cannot undo it
        device_reports.Report(contrary, "Failed", error="RESULT_ERROR_RADIO_OFF"),
        device_reports.Report(contrary, "Delivered", times={"Sent": now, "Delivered": now}),
    ]
    moved = await core.write_now(lambda unit: device_reports.apply(unit, device, reports))
    assert sorted((m.id, m.state) for m in moved) == sorted(
        [(ok, "taken"), (ok, "sent"), (ok, "delivered"), (contrary, "failed")]
    )
    assert await _events(core, ok) == ["queued", "assigned", "taken", "sent", "delivered"]
    assert await _events(core, contrary) == ["queued", "assigned", "failed"]
    failed = await _row(core, contrary)
    assert (failed.state, failed.reason, failed.error) == ("failed", "radio_off", "RESULT_ERROR_RADIO_OFF")
    delivered = await _row(core, ok)
    assert delivered.sent_at == delivered.delivered_at and delivered.lease_until is None


async def test_reports_for_another_phones_messages_change_nothing(core, alice) -> None:
    mine, other = await _phone(core, alice.id), await _phone(core, alice.id)
    (mid,) = await _queue(core, alice.id, other.id, "not yours")
    moved = await core.write_now(lambda unit: device_reports.apply(unit, mine, [device_reports.Report(mid, "Delivered")]))
    assert moved == [] and (await _row(core, mid)).state == "queued"


async def test_write_now_runs_after_commit_hooks_once_committed(core) -> None:
    ran: list[str] = []

    async def work(unit: Unit) -> int:
        unit.after_commit(lambda: ran.append("hook"))
        return 7

    assert await core.write_now(work) == 7
    assert ran == ["hook"]


async def test_write_now_rolls_back_what_failed(core, alice) -> None:
    device = await _phone(core, alice.id)
    (mid,) = await _queue(core, alice.id, device.id, "kept queued")

    async def failing(unit: Unit) -> None:
        await queue.claim_for_device(unit, device.id)
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        await core.write_now(failing)
    assert (await _row(core, mid)).state == "queued"


async def test_write_now_reruns_code_that_waits_for_more_than_the_database(core, alice) -> None:
    device = await _phone(core, alice.id)
    (mid,) = await _queue(core, alice.id, device.id, "once")
    attempts: list[int] = []

    async def slow_listener(unit: Unit) -> list:
        rows = await queue.claim_for_device(unit, device.id)
        attempts.append(len(rows))
        await asyncio.sleep(0)  # anything but the database: needs a real unit
        return rows

    rows = await core.write_now(slow_listener)
    assert [r.id for r in rows] == [mid]
    row = await _row(core, mid)
    assert row.state == "assigned" and row.attempts == 1  # the first try left nothing behind
    if core.db.is_sqlite:
        assert attempts == [1, 1]


def test_wake_ups_waiting_together_are_said_once_and_other_events_kept() -> None:
    inbox: asyncio.Queue = asyncio.Queue()
    for item in [("MessageEnqueued", {}), ("MessageCancelled", {"messageId": "7"}), ("MessageEnqueued", {}),
                 ("SettingsUpdated", {})]:
        inbox.put_nowait(item)
    first = inbox.get_nowait()
    assert _coalesced(first, inbox) == [
        ("MessageEnqueued", {}), ("MessageCancelled", {"messageId": "7"}), ("SettingsUpdated", {})
    ]
    assert inbox.empty()
