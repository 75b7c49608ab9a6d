"""Campaigns: bodies and counts, pause / resume / cancel, the send window and pace on a test clock, credit, finish."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from postino.core.accounts import billing
from postino.core.clock import utcnow
from postino.core.contacts import campaigns, contacts, expansion, release
from postino.core.errors import Conflict
from postino.core.messages import lifecycle, queue
from postino.db.tables import campaign_recipients, message_events, messages, outbox
from postino.db.tables import campaigns as campaigns_table

from ..conftest import make_account
from .helpers import bulk_contacts, bulk_optouts, drive, new_list, number, phone, states

ROME = ZoneInfo("Europe/Rome")


async def _campaign(core, account_id: int, tags: list[int], **options) -> campaigns.Campaign:  # noqa: ANN001, ANN003
    async with core.unit() as unit:
        campaign, _woken = await campaigns.create_campaign(
            unit, account_id, title=options.pop("title", "Sale"), body=options.pop("body", "Sale!"), tag_ids=tags,
            device_id=options.pop("device_id", None), **options,
        )  # fmt: skip
    return campaign


async def _show(core, account_id: int, campaign_id: int) -> dict:  # noqa: ANN001
    async with core.reader() as unit:
        return await campaigns.show(unit, account_id, campaign_id)


async def _bodies(core, batch_id: int) -> dict[str, str]:  # noqa: ANN001
    async with core.reader() as unit:
        rows = await unit.conn.execute(select(messages.c.recipient, messages.c.body).where(messages.c.batch_id == batch_id))
        return dict(rows.all())


async def test_one_message_per_distinct_number_with_its_placeholders_and_exact_counts(core, alice) -> None:  # noqa: ANN001
    device = await phone(core, alice.id)
    staff, clients = await new_list(core, alice.id, "Staff"), await new_list(core, alice.id, "Clients")
    async with core.unit() as unit:
        await contacts.add_contact(unit, alice.id, staff, "349 1111111", "Anna", fields={"city": "Roma", "n": 3})
        await contacts.add_contact(unit, alice.id, staff, "+393492222222", "", fields={})
        await contacts.add_contact(unit, alice.id, clients, "+393491111111", "Anna bis", fields={"city": "Milano"})
        await contacts.add_contact(unit, alice.id, clients, "+393493333333", "Carlo", fields={"vip": True})
    await bulk_optouts(core, alice.id, ["+393493333333"])
    campaign = await _campaign(
        core, alice.id, [staff, clients], device_id=device, body="Ciao {{ name }} ({{city}}{{missing}}) {{n}} {{vip}}"
    )
    assert await _bodies(core, campaign.batch_id) == {
        "+393491111111": "Ciao Anna (Roma) 3 ",  # the first list's entry fills the body
        "+393492222222": "Ciao  ()  ",
    }
    shown = await _show(core, alice.id, campaign.id)
    assert {k: shown[k] for k in ("state", "total", "waiting", "queued", "sent", "opted_out", "duplicates_skipped")} == {
        "state": "running", "total": 2, "waiting": 0, "queued": 2, "sent": 0, "opted_out": 1, "duplicates_skipped": 1,
    }
    async with core.reader() as unit:
        recipients = dict((await unit.conn.execute(
            select(campaign_recipients.c.phone, campaign_recipients.c.seq).where(campaign_recipients.c.campaign_id == campaign.id)
        )).all())  # fmt: skip
        seqs = dict((await unit.conn.execute(
            select(messages.c.recipient, messages.c.seq).where(messages.c.batch_id == campaign.batch_id)
        )).all())  # fmt: skip
    assert recipients == {**seqs, "+393493333333": None}


async def test_the_same_body_for_everyone_is_written_by_the_database_with_the_same_rows(core, alice) -> None:  # noqa: ANN001
    """Without placeholders the page is written set-based: the rows must be what ``messages.store`` writes."""
    device = await phone(core, alice.id)
    tag = await new_list(core, alice.id, "All")
    await bulk_contacts(core, alice.id, tag, [number(1), number(2)])
    campaign = await _campaign(core, alice.id, [tag], device_id=device, slot=1, body="Plain text, è UCS-2? no: GSM",
                               options={"sender": "SHOP", "urgent": True, "extra": {"report_url": "https://x.example"}})
    async with core.reader() as unit:
        rows = (await unit.conn.execute(select(messages).where(messages.c.batch_id == campaign.batch_id)
                                        .order_by(messages.c.seq))).all()  # fmt: skip
        events = (await unit.conn.execute(select(message_events.c.message_id, message_events.c.state)
                                          .where(message_events.c.message_id.in_([r.id for r in rows])))).all()  # fmt: skip
    assert [(r.recipient, r.recipient_raw, r.seq, r.state, r.device_id, r.slot, r.channel) for r in rows] == [
        (number(1), number(1), 0, "queued", device, 1, "sms"), (number(2), number(2), 1, "queued", device, 1, "sms"),
    ]
    first = rows[0]
    assert (first.direction, first.sender, first.urgent, first.priority, first.encoding, first.segments) == (
        "out", "SHOP", True, 1.0, "gsm", 1
    )
    assert (first.price, first.product, first.extra, first.attempts, first.account_id) == (
        Decimal("0.0450"), "sms", {"report_url": "https://x.example"}, 0, alice.id
    )
    assert first.created_at.tzinfo is not None and abs((utcnow() - first.created_at).total_seconds()) < 60
    assert sorted(events) == [(rows[0].id, "queued"), (rows[1].id, "queued")]
    async with core.reader() as unit:
        assert (await billing.balance(unit, alice.id, "sms")).amount == Decimal("100") - Decimal("0.0900")


async def test_a_crash_inside_a_page_takes_the_page_back_and_the_next_run_writes_it_once(core, alice, monkeypatch) -> None:  # noqa: ANN001
    core.settings.campaign_batch = 7
    tags = [await new_list(core, alice.id, f"L{i}") for i in range(2)]
    await bulk_contacts(core, alice.id, tags[0], [number(i) for i in range(20)])
    await bulk_contacts(core, alice.id, tags[1], [number(i) for i in range(10, 30)])
    campaign = await _campaign(core, alice.id, tags, send_at=utcnow() + timedelta(hours=1))
    async with core.unit() as unit:
        await campaigns.start_due_campaigns(unit, now=utcnow() + timedelta(hours=2))
    real = expansion._write_same_body
    calls = 0

    def dying(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        nonlocal calls
        calls += 1
        written = real(*args, **kwargs)
        if calls == 2:
            raise RuntimeError("the process died here")
        return written

    monkeypatch.setattr(expansion, "_write_same_body", dying)
    with pytest.raises(RuntimeError):
        await drive(core)
    monkeypatch.setattr(expansion, "_write_same_body", real)
    await drive(core)
    async with core.reader() as unit:
        recipients = (await unit.conn.execute(
            select(messages.c.recipient, messages.c.seq).where(messages.c.batch_id == campaign.batch_id)
            .order_by(messages.c.seq)
        )).all()  # fmt: skip
    assert [r.recipient for r in recipients] == [number(i) for i in range(30)]
    assert [r.seq for r in recipients] == list(range(30))
    shown = await _show(core, alice.id, campaign.id)
    assert (shown["total"], shown["duplicates_skipped"], shown["expanded"]) == (30, 10, True)


async def test_pause_stops_hand_outs_resume_goes_on_without_duplicates(core, alice, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(release, "CHUNK", 10)
    await phone(core, alice.id)  # no phone named: drafts wait and are routed as they are handed out
    tag = await new_list(core, alice.id, "Many")
    await bulk_contacts(core, alice.id, tag, [number(i) for i in range(45)])
    campaign = await _campaign(core, alice.id, [tag])
    assert await states(core, campaign.batch_id) == {"draft": 35, "queued": 10}  # the first chunk went at once
    async with core.unit() as unit:
        paused = await campaigns.pause(unit, alice.id, campaign.id)
    assert paused.state == "paused"
    await drive(core)
    async with core.unit() as unit:
        await campaigns.release_campaigns(unit)
    assert await states(core, campaign.batch_id) == {"draft": 35, "queued": 10}
    async with core.unit() as unit:
        assert (await campaigns.resume(unit, alice.id, campaign.id)).state == "running"
    assert await drive(core) == 4
    assert await states(core, campaign.batch_id) == {"queued": 45}
    async with core.reader() as unit:
        queued_events = await unit.conn.scalar(
            select(func.count()).select_from(message_events.join(messages, messages.c.id == message_events.c.message_id))
            .where(messages.c.batch_id == campaign.batch_id, message_events.c.state == "queued")
        )  # fmt: skip
        distinct = await unit.conn.scalar(
            select(func.count(func.distinct(messages.c.recipient))).where(messages.c.batch_id == campaign.batch_id)
        )
    assert (queued_events, distinct) == (45, 45)


async def test_cancel_cancels_what_no_phone_has_taken(core, alice, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(release, "CHUNK", 10)
    device = await phone(core, alice.id)
    tag = await new_list(core, alice.id, "Many")
    await bulk_contacts(core, alice.id, tag, [number(i) for i in range(30)])
    campaign = await _campaign(core, alice.id, [tag])
    async with core.unit() as unit:
        claimed = await queue.claim_for_device(unit, device, limit=4)
        await lifecycle.move(unit, [m.id for m in claimed[:3]], lifecycle.TAKEN)
    assert await states(core, campaign.batch_id) == {"draft": 20, "queued": 6, "assigned": 1, "taken": 3}
    async with core.unit() as unit:
        canceled = await campaigns.cancel(unit, alice.id, campaign.id)
    assert canceled.state == "canceled"
    assert await states(core, campaign.batch_id) == {"draft": 20, "canceled": 7, "taken": 3}
    await drive(core)  # the worker cancels the drafts, a chunk at a time
    assert await states(core, campaign.batch_id) == {"canceled": 27, "taken": 3}
    shown = await _show(core, alice.id, campaign.id)
    assert (shown["state"], shown["canceled"], shown["queued"], shown["waiting"]) == ("canceled", 27, 3, 0)
    async with core.unit() as unit:
        with pytest.raises(Conflict):
            await campaigns.resume(unit, alice.id, campaign.id)


async def test_the_send_window_holds_in_the_accounts_time_zone(core, alice) -> None:  # noqa: ANN001
    device = await phone(core, alice.id)
    tag = await new_list(core, alice.id, "Evening")
    await bulk_contacts(core, alice.id, tag, [number(i) for i in range(5)])
    late = datetime(2031, 3, 3, 21, 30, tzinfo=ROME)  # after 20:00 in Rome
    campaign = await _campaign(core, alice.id, [tag], device_id=device, window="09:00-20:00", send_at=late)
    async with core.unit() as unit:
        assert await campaigns.start_due_campaigns(unit, now=late) == set()
    await drive(core, now=late)
    assert await states(core, campaign.batch_id) == {"draft": 5}
    for moment in (datetime(2031, 3, 4, 8, 59, tzinfo=ROME), datetime(2031, 3, 4, 7, 30, tzinfo=timezone.utc)):
        async with core.unit() as unit:
            assert await campaigns.release_campaigns(unit, now=moment) == set()
    assert await states(core, campaign.batch_id) == {"draft": 5}
    async with core.unit() as unit:  # 08:00 UTC is 09:00 in Rome (winter time)
        assert await campaigns.release_campaigns(unit, now=datetime(2031, 3, 4, 8, 0, tzinfo=timezone.utc)) == {device}
    assert await states(core, campaign.batch_id) == {"queued": 5}


async def test_a_window_across_midnight() -> None:
    night = release.parse_window("22:00-06:30")
    assert night == (22 * 60, 6 * 60 + 30)
    at = lambda h, m: datetime(2031, 1, 1, h, m, tzinfo=ROME)  # noqa: E731
    inside = [release.in_window(*night, ROME, at(h, m)) for h, m in ((22, 0), (23, 59), (0, 0), (6, 29), (6, 30), (12, 0))]
    assert inside == [True, True, True, True, False, False]
    for wrong in ("9-20", "09:00", "20:00-20:00", "25:00-26:00"):
        with pytest.raises(Exception, match="window"):
            release.parse_window(wrong)


async def test_the_pace_hands_out_at_most_n_a_minute_spread_over_the_minute(core, alice) -> None:  # noqa: ANN001
    device = await phone(core, alice.id)
    tag = await new_list(core, alice.id, "Paced")
    await bulk_contacts(core, alice.id, tag, [number(i) for i in range(200)])
    t0 = utcnow() + timedelta(days=1)
    campaign = await _campaign(core, alice.id, [tag], device_id=device, pace=600, send_at=t0)
    async with core.unit() as unit:
        await campaigns.start_due_campaigns(unit, now=t0)
    released = [(await _show(core, alice.id, campaign.id))["queued"]]
    for seconds in (0.5, 1, 2, 2, 10, 60):
        async with core.unit() as unit:
            await campaigns.release_campaigns(unit, now=t0 + timedelta(seconds=seconds))
        released.append((await _show(core, alice.id, campaign.id))["queued"])
    # 600 a minute is 10 a second; the bucket holds two seconds' worth (20), and starts full.
    assert released == [20, 25, 30, 40, 40, 60, 80]


async def test_credit_that_runs_out_pauses_the_campaign_and_resume_goes_on_after_a_top_up(core) -> None:  # noqa: ANN001
    shop = await make_account(core, "shop@example.com", "shop password", credit="1", enforce=True)
    await phone(core, shop.id)
    tag = await new_list(core, shop.id, "Clients")
    await bulk_contacts(core, shop.id, tag, [number(i) for i in range(20)])  # 20 x 0.045 = 0.90: it may start
    t0 = utcnow() + timedelta(hours=1)
    campaign = await _campaign(core, shop.id, [tag], send_at=t0, pace=60)
    async with core.unit() as unit:
        await campaigns.start_due_campaigns(unit, now=t0)
    assert (await _show(core, shop.id, campaign.id))["queued"] == 2  # charged as handed out: 0.09
    async with core.unit() as unit:
        await billing.debit(unit, shop.id, "sms", Decimal("0.85"), enforce=True)  # spent elsewhere meanwhile
    async with core.unit() as unit:
        await campaigns.release_campaigns(unit, now=t0 + timedelta(seconds=30))
    shown = await _show(core, shop.id, campaign.id)
    assert (shown["state"], shown["error"], shown["waiting"], shown["queued"]) == (
        "paused", "Not enough sms credit", 18, 2
    )
    async with core.unit() as unit:
        await billing.top_up(unit, shop.id, "sms", Decimal("5"))
        await campaigns.resume(unit, shop.id, campaign.id)
    for step in range(1, 20):
        async with core.unit() as unit:
            await campaigns.release_campaigns(unit, now=t0 + timedelta(seconds=30 + 2 * step))
    shown = await _show(core, shop.id, campaign.id)
    assert (shown["state"], shown["error"], shown["queued"], shown["waiting"]) == ("running", None, 20, 0)
    async with core.reader() as unit:
        balance = (await billing.balance(unit, shop.id, "sms")).amount
    assert balance == Decimal("1") - Decimal("0.85") + 5 - Decimal("0.9")


async def test_finished_when_every_message_is_done_with_the_webhook(core, alice) -> None:  # noqa: ANN001
    from postino.core.events import webhooks

    device = await phone(core, alice.id)
    tag = await new_list(core, alice.id, "Done")
    await bulk_contacts(core, alice.id, tag, [number(i) for i in range(4)])
    await bulk_optouts(core, alice.id, [number(3)])
    async with core.unit() as unit:
        await webhooks.create(unit, alice.id, url="https://hooks.example.com/c", events=["campaign.finished"])
    campaign = await _campaign(core, alice.id, [tag], device_id=device)
    async with core.reader() as unit:
        ids = list((await unit.conn.execute(select(messages.c.id).where(messages.c.batch_id == campaign.batch_id)
                                            .order_by(messages.c.seq))).scalars())  # fmt: skip
    async with core.unit() as unit:
        await lifecycle.move(unit, ids[:2], lifecycle.DELIVERED)
        await campaigns.finish_campaigns(unit)
    assert (await _show(core, alice.id, campaign.id))["state"] == "running"
    async with core.unit() as unit:
        await lifecycle.move(unit, ids[2:], lifecycle.FAILED, reason="no_service")
        await campaigns.finish_campaigns(unit)
    shown = await _show(core, alice.id, campaign.id)
    assert (shown["state"], shown["delivered"], shown["failed"]) == ("finished", 2, 1)
    async with core.reader() as unit:
        (payload,) = (await unit.conn.execute(select(outbox.c.payload).where(outbox.c.event == "campaign.finished"))).scalars()
    assert payload["data"] == {
        "campaign_id": campaign.id, "title": "Sale", "contacts": 3, "total": 3, "delivered": 2, "failed": 1, "sent": 0,
        "canceled": 0, "opted_out": 1, "duplicates_skipped": 0,
    }


async def test_a_campaign_to_opted_out_numbers_only_finishes_at_once(core, alice) -> None:  # noqa: ANN001
    tag = await new_list(core, alice.id, "Gone")
    await bulk_contacts(core, alice.id, tag, [number(1)])
    await bulk_optouts(core, alice.id, [number(1)])
    campaign = await _campaign(core, alice.id, [tag])
    assert (campaign.state, campaign.total, campaign.opted_out) == ("finished", 0, 1)


async def test_the_worker_loop_streams_a_campaign_created_through_the_api(app, client, core, alice) -> None:  # noqa: ANN001
    from ..support import wait_for

    core.settings.campaign_batch = 25
    device = await phone(core, alice.id)
    tags = [await new_list(core, alice.id, f"L{i}") for i in range(3)]
    for n, tag in enumerate(tags):
        await bulk_contacts(core, alice.id, tag, [number(i) for i in range(n * 50, n * 50 + 100)])
    answer = await client.post(
        "/api/v1/campaigns", headers={"Authorization": f"Bearer {alice.bearer_token}"},
        json={"title": "Streamed", "body": "Hello", "lists": tags, "device_id": device},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert (created["state"], created["total"], created["queued"]) == ("running", 200, 25)

    async def expanded() -> dict | None:
        shown = await _show(core, alice.id, created["id"])
        return shown if shown["expanded"] else None

    shown = await wait_for(expanded, message="the worker to expand the campaign")
    assert (shown["total"], shown["queued"], shown["duplicates_skipped"]) == (200, 200, 100)


async def test_only_a_running_campaign_pauses(core, alice) -> None:  # noqa: ANN001
    tag = await new_list(core, alice.id, "T")
    await bulk_contacts(core, alice.id, tag, [number(1)])
    later = await _campaign(core, alice.id, [tag], send_at=utcnow() + timedelta(days=1))
    async with core.unit() as unit:
        with pytest.raises(Conflict):
            await campaigns.pause(unit, alice.id, later.id)
        canceled = await campaigns.cancel(unit, alice.id, later.id)
        assert canceled.state == "canceled"
        await unit.conn.execute(update(campaigns_table).where(campaigns_table.c.id == later.id).values(send_at=utcnow()))
        assert await campaigns.start_due_campaigns(unit) == set()  # a canceled campaign never starts


async def test_what_no_route_takes_fails_uncharged_and_the_campaign_still_finishes(core, alice) -> None:  # noqa: ANN001
    tag = await new_list(core, alice.id, "Nowhere")  # alice has no phone and no route
    await bulk_contacts(core, alice.id, tag, [number(i) for i in range(3)])
    campaign = await _campaign(core, alice.id, [tag])
    async with core.reader() as unit:
        reasons = set((await unit.conn.execute(
            select(messages.c.state, messages.c.reason).where(messages.c.batch_id == campaign.batch_id))).all())  # fmt: skip
        assert (await billing.balance(unit, alice.id, "sms")).amount == Decimal("100")
    assert reasons == {("failed", "rejected")}
    async with core.unit() as unit:
        await campaigns.finish_campaigns(unit)
    assert (await _show(core, alice.id, campaign.id))["state"] == "finished"
