"""Events that are not message states: a finished newsletter, a finished phone check."""

from __future__ import annotations

from sqlalchemy import select

from postino.core.contacts import campaigns, contacts
from postino.core.devices import devices
from postino.core.events import webhooks
from postino.core.messages import lifecycle
from postino.db.tables import messages, outbox


async def _events(core, account_id: int) -> list[tuple[str, dict]]:  # noqa: ANN001
    async with core.reader() as unit:
        rows = (
            await unit.conn.execute(
                select(outbox.c.event, outbox.c.payload).where(outbox.c.account_id == account_id).order_by(outbox.c.id)
            )
        ).all()
    return [(r.event, r.payload) for r in rows]


async def test_campaign_finished_is_announced_once_every_message_is_done(core, alice) -> None:  # noqa: ANN001
    async with core.unit() as unit:
        await webhooks.create(unit, alice.id, url="https://hooks.example.com/in", events=["campaign.finished"])
        device, _ = await devices.register(unit, alice.id, sim_cards=[{"slotIndex": 0, "simNumber": 1}])
        tag = await contacts.create_tag(unit, alice.id, "clients")
        for phone in ("+393491234567", "+393491234568", "+393491234569"):
            await contacts.add_contact(unit, alice.id, phone=phone, tag_id=tag.id, fullname="x")
        campaign, _ = await campaigns.create_campaign(
            unit, alice.id, title="Saldi", body="Sconti!", tag_ids=[tag.id], device_id=device.id
        )
    async with core.reader() as unit:
        ids = list((await unit.conn.execute(select(messages.c.id).where(messages.c.account_id == alice.id))).scalars())
    assert len(ids) == 3
    async with core.unit() as unit:
        await lifecycle.move(unit, ids[:2], lifecycle.DELIVERED)
        await campaigns.finish_campaigns(unit)
    assert await _events(core, alice.id) == []  # one message still queued
    async with core.unit() as unit:
        await lifecycle.move(unit, ids[2:], lifecycle.FAILED, reason="no_service")
        await campaigns.finish_campaigns(unit)
        await campaigns.finish_campaigns(unit)  # a second tick announces nothing more
    events = await _events(core, alice.id)
    assert [e for e, _ in events] == ["campaign.finished"]
    data = events[0][1]["data"]
    assert data == {"campaign_id": campaign.id, "title": "Saldi", "contacts": 3, "delivered": 2, "failed": 1,
                    "total": 3, "sent": 0, "canceled": 0, "opted_out": 0, "duplicates_skipped": 0}
    async with core.reader() as unit:
        assert (await campaigns.get_campaign(unit, alice.id, campaign.id)).state == "finished"


async def test_wa_phone_check_done_reaches_account_webhooks(core, client, alice) -> None:  # noqa: ANN001
    async with core.unit() as unit:
        await webhooks.create(unit, alice.id, url="https://hooks.example.com/in", events=["wa_phone_check.done"])
    answer = await client.post(
        "/nusasms_api/1.0/wa_phone_check", headers={"APIKey": alice.api_key},
        json={"phone_numbers": ["6281234567890", "12345678"]},
    )  # fmt: skip
    assert answer.status_code == 201
    events = await _events(core, alice.id)
    assert [e for e, _ in events] == ["wa_phone_check.done"]
    assert events[0][1]["data"] == {
        "results": [
            {"phone_number": "6281234567890", "status": "valid"},
            {"phone_number": "12345678", "status": "invalid"},
        ]
    }
