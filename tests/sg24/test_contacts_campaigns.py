"""Tags, contacts and newsletters (savetag, savecontact, savepaket) and the core they share."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update

from postino.core.clock import utcnow
from postino.core.contacts import campaigns as campaign_service
from postino.core.contacts import contacts
from postino.db.tables import campaigns, messages
from postino.db.tables import contacts as contacts_table

from ..conftest import make_account
from ..support import wait_for
from .conftest import register_phone, stored_messages


async def _call(client, method: str, **data) -> dict:  # noqa: ANN001, ANN003
    answer = (await client.post(f"/getdata/{method}", data=data)).json()
    assert answer["error"] == 0, answer
    return answer


async def test_same_phone_in_same_tag_updates_the_name_and_keeps_the_id(client, core, alice) -> None:
    t = alice.sg24_token
    tag = (await _call(client, "savetag", token=t, title="Employees"))["tag_id"]
    other = (await _call(client, "savetag", token=t, title="Friends"))["tag_id"]
    first = (await _call(client, "savecontact", token=t, phone="+39 349 1234567", ctag_id=tag, fullname="Anna"))
    again = (await _call(client, "savecontact", token=t, phone="3491234567", ctag_id=tag, fullname="Anna Rossi"))
    elsewhere = (await _call(client, "savecontact", token=t, phone="+393491234567", ctag_id=other, fullname="Anna"))
    assert again["contact_id"] == first["contact_id"]
    assert elsewhere["contact_id"] != first["contact_id"]
    async with core.reader() as unit:
        rows = (await unit.conn.execute(select(contacts_table).order_by(contacts_table.c.id))).all()
    assert [(r.tag_id, r.phone, r.fullname) for r in rows] == [
        (tag, "+393491234567", "Anna Rossi"), (other, "+393491234567", "Anna")
    ]


async def test_savetag_with_a_known_title_returns_that_tag(client, alice, bob) -> None:
    first = (await _call(client, "savetag", token=alice.sg24_token, title="VIP"))["tag_id"]
    assert (await _call(client, "savetag", token=alice.sg24_token, title=" VIP "))["tag_id"] == first
    assert (await _call(client, "savetag", token=bob.sg24_token, title="VIP"))["tag_id"] != first


async def test_savepaket_now_sends_one_message_per_distinct_contact(client, core, alice, phone) -> None:
    t = alice.sg24_token
    staff = (await _call(client, "savetag", token=t, title="Staff"))["tag_id"]
    clients = (await _call(client, "savetag", token=t, title="Clients"))["tag_id"]
    for number, tag in (("+393491111111", staff), ("+393492222222", staff), ("+393491111111", clients),
                        ("+393493333333", clients)):
        await _call(client, "savecontact", token=t, phone=number, ctag_id=tag, fullname="x")
    answer = await _call(
        client, "savepaket", token=t, title="Opening", device_id=phone, body="We open at 9!", tags=f"{staff},{clients}",
        sim=1, time_to_send=0,
    )
    assert answer["contacts"] == 3 and answer["paket"] == answer["paket_id"]
    listed = (await client.get("/getdata/getallsms", params={"token": t})).json()
    assert listed["count"] == 3
    entries = list(listed["smss"].values())
    assert sorted(e["sendto"] for e in entries) == ["+393491111111", "+393492222222", "+393493333333"]
    for entry in entries:
        assert (entry["paketid"], entry["pakettitle"], entry["paketbody"]) == (answer["paket_id"], "Opening", "We open at 9!")
        assert (entry["body"], entry["deviceid"], entry["sim"], entry["status"]) == ("We open at 9!", phone, 1, 1)


async def test_savepaket_later_is_started_by_the_scheduler(client, core, alice, phone, app) -> None:  # noqa: ANN001
    t = alice.sg24_token
    tag = (await _call(client, "savetag", token=t, title="Later"))["tag_id"]
    await _call(client, "savecontact", token=t, phone="+393491111111", ctag_id=tag, fullname="x")
    answer = await _call(
        client, "savepaket", token=t, title="Tomorrow", device_id=phone, body="See you", tags=str(tag),
        time_to_send="29.05.2099 7:05:00",
    )
    async with core.reader() as unit:
        row = (await unit.conn.execute(select(campaigns).where(campaigns.c.id == answer["paket_id"]))).one()
    # 07:05 in Europe/Rome (summer time) is 05:05 UTC
    assert row.send_at == datetime(2099, 5, 29, 5, 5, tzinfo=timezone.utc) and row.state == "scheduled"
    # A contact added before the time is included.
    await _call(client, "savecontact", token=t, phone="+393492222222", ctag_id=tag, fullname="y")
    assert await stored_messages(core) == 0
    async with core.unit() as unit:
        await unit.conn.execute(
            update(campaigns).where(campaigns.c.id == answer["paket_id"]).values(send_at=utcnow() - timedelta(seconds=1))
        )

    async def started() -> bool:
        return await stored_messages(core) == 2

    await wait_for(started, timeout=10, message="the scheduler to start the campaign")
    listed = (await client.get("/getdata/getallsms", params={"token": t})).json()
    assert {e["pakettitle"] for e in listed["smss"].values()} == {"Tomorrow"}
    async with core.reader() as unit:
        state = await unit.conn.scalar(select(campaigns.c.state).where(campaigns.c.id == answer["paket_id"]))
    assert state == "running"


async def test_savepaket_refuses_foreign_tags_and_stores_nothing(client, core, alice, bob, phone) -> None:
    mine = (await _call(client, "savetag", token=alice.sg24_token, title="Mine"))["tag_id"]
    theirs = (await _call(client, "savetag", token=bob.sg24_token, title="Theirs"))["tag_id"]
    answer = (
        await client.post(
            "/getdata/savepaket",
            data={"token": alice.sg24_token, "title": "x", "device_id": phone, "body": "b", "tags": f"{mine},{theirs}"},
        )
    ).json()
    assert answer == {"error": 1, "message": f"Tag {theirs} not found"}
    async with core.reader() as unit:
        assert await unit.conn.scalar(select(func.count()).select_from(campaigns)) == 0


async def test_core_contacts_functions(core, alice, phone) -> None:
    """The shared model other dialects use: find a group by name, its distinct phones, a campaign to it."""
    async with core.unit() as unit:
        tag = await contacts.create_tag(unit, alice.id, "Newsletter")
        assert await contacts.find_tag_by_title(unit, alice.id, "Newsletter") == tag
        assert await contacts.find_tag_by_title(unit, alice.id, "newsletter") is None
        second = await contacts.create_tag(unit, alice.id, "Other")
        c1 = await contacts.add_contact(unit, alice.id, tag.id, "+393491111111", "Uno")
        await contacts.add_contact(unit, alice.id, second.id, "+39 349 1111111", "Uno bis")
        await contacts.add_contact(unit, alice.id, second.id, "3492222222", "Due")
        assert c1.created and c1.phone == "+393491111111"
        phones = [r.phone for r in await contacts.contacts_of_tags(unit, alice.id, [tag.id, second.id])]
        assert phones == ["+393491111111", "+393492222222"]
        campaign, _ = await campaign_service.create_campaign(
            unit, alice.id, title="Hi", body="Hello", tag_ids=[tag.id, second.id], device_id=phone, slot=0,
            send_at=utcnow() + timedelta(hours=1),
        )
        assert campaign.state == "scheduled" and campaign.contacts == 2
        assert await campaign_service.start_due_campaigns(unit) == set()
        woken = await campaign_service.start_due_campaigns(unit, now=utcnow() + timedelta(hours=2))
        assert woken == {phone}
        started = await campaign_service.get_campaign(unit, alice.id, campaign.id)
        assert started.state == "running" and started.batch_id is not None
        bodies = (await unit.conn.execute(select(messages.c.body).where(messages.c.batch_id == started.batch_id))).all()
        assert len(bodies) == 2
        # Started once only.
        assert await campaign_service.start_due_campaigns(unit, now=utcnow() + timedelta(hours=3)) == set()


async def test_no_credit_refuses_addsms_and_a_newsletter_now_and_fails_a_later_one(client, core) -> None:
    poor = await make_account(core, "poor@example.com", "poor password", credit="0.01", enforce=True)
    device = await register_phone(core, poor.id)
    t = poor.sg24_token
    answer = (
        await client.post("/getdata/addsms", data={"token": t, "sendto": "+393491234567", "body": "x", "device_id": device})
    ).json()
    assert answer["error"] == 1 and answer["message"]
    tag = (await _call(client, "savetag", token=t, title="T"))["tag_id"]
    await _call(client, "savecontact", token=t, phone="+393491234567", ctag_id=tag, fullname="x")
    now = (
        await client.post(
            "/getdata/savepaket", data={"token": t, "title": "Now", "device_id": device, "body": "b", "tags": tag}
        )
    ).json()
    assert now["error"] == 1 and now["message"] == answer["message"]
    later = await _call(
        client, "savepaket", token=t, title="Later", device_id=device, body="b", tags=tag, time_to_send="01.01.2099 10:00:00"
    )
    async with core.unit() as unit:
        woken = await campaign_service.start_due_campaigns(unit, now=datetime(2099, 1, 2, tzinfo=timezone.utc))
        failed = await campaign_service.get_campaign(unit, poor.id, later["paket_id"])
        assert await unit.conn.scalar(select(func.count()).select_from(campaigns)) == 1
    assert woken == set() and failed.state == "failed" and failed.contacts == 0
    assert await stored_messages(core) == 0
