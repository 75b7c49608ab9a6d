"""getallsms: filters, dates in the asked zone, incoming messages, paging, counting."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest_asyncio
from sqlalchemy import update

from postino.core.accounts import accounts
from postino.core.devices import devices
from postino.core.messages import inbound, lifecycle, messages
from postino.db.tables import messages as messages_table

from .conftest import register_phone

UTC = timezone.utc


@pytest_asyncio.fixture
async def history(core, client, alice, phone):  # noqa: ANN001, ANN201
    """Six messages of alice on two devices, with known states and creation times."""
    other = await register_phone(core, alice.id, name="second", sim_cards=[{"slotIndex": 0}, {"slotIndex": 1}])
    plan = [
        # (device, sim, to, customerid, created (UTC), final state, reason)
        (phone, 0, "+393491111111", "7", datetime(2024, 1, 10, 8, 0, tzinfo=UTC), "delivered", None),
        (phone, 1, "+393492222222", "", datetime(2024, 1, 10, 23, 30, tzinfo=UTC), "failed", "no_service"),
        (other, 0, "+393491111111", "7", datetime(2024, 1, 11, 9, 0, tzinfo=UTC), "sent", None),
        (other, 1, "+393493333333", "8", datetime(2024, 1, 12, 9, 0, tzinfo=UTC), "queued", None),
        (phone, 0, "+393493333333", "", datetime(2024, 1, 13, 9, 0, tzinfo=UTC), "failed", "generic"),
    ]
    ids = []
    for device, sim, to, customer, created, state, reason in plan:
        answer = (
            await client.post(
                "/getdata/addsms",
                data={"token": alice.sg24_token, "sendto": to, "body": f"to {to}", "device_id": device, "sim": sim,
                      "customerid": customer},
            )
        ).json()
        ids.append(answer["sms_id"])
        async with core.unit() as unit:
            if state != "queued":
                await lifecycle.move(unit, [answer["sms_id"]], state, reason=reason)
            await unit.conn.execute(
                update(messages_table).where(messages_table.c.id == answer["sms_id"]).values(created_at=created)
            )
    async with core.unit() as unit:
        device = await devices.get(unit, alice.id, phone)
        received = await inbound.receive(unit, device, sender="+39 349 1111111", body="reply", slot=0,
                                         phone_message_id="abc")
        await unit.conn.execute(
            update(messages_table)
            .where(messages_table.c.id == received.id)
            .values(created_at=datetime(2024, 1, 14, 9, 0, tzinfo=UTC))
        )
    ids.append(received.id)
    return {"ids": ids, "phone": phone, "other": other}


async def _list(client, alice, **params) -> dict:  # noqa: ANN001
    answer = (await client.get("/getdata/getallsms", params={"token": alice.sg24_token, **params})).json()
    assert answer["error"] == 0, answer
    return answer


async def test_everything_oldest_first_with_statuses(client, alice, history) -> None:
    answer = await _list(client, alice)
    ids = history["ids"]
    assert answer["count"] == 6
    assert list(answer["smss"]) == [str(i) for i in ids]
    got = [(e["status"], e["statustitle"]) for e in answer["smss"].values()]
    assert got == [(7, "delivered"), (10, "no service"), (6, "sent"), (1, "pending"), (9, "failed"), (5, "incoming")]
    incoming = answer["smss"][str(ids[5])]
    assert (incoming["sendto"], incoming["body"], incoming["customerid"]) == ("+39 349 1111111", "reply", None)


async def test_filters_match_exactly(client, alice, history) -> None:
    ids = history["ids"]

    async def ids_for(**params) -> list[int]:  # noqa: ANN003
        return [int(k) for k in (await _list(client, alice, **params))["smss"]]

    assert await ids_for(device_id=history["other"]) == [ids[2], ids[3]]
    assert await ids_for(status=10) == [ids[1]]
    assert await ids_for(status=9) == [ids[4]]
    assert await ids_for(status=5) == [ids[5]]
    assert await ids_for(status=4) == []
    assert await ids_for(sim=1) == [ids[1], ids[3]]
    assert await ids_for(customerid=7) == [ids[0], ids[2]]
    assert await ids_for(customerId="8") == [ids[3]]
    # phone: recipients of outgoing, senders of incoming; written any way
    assert await ids_for(phone="+393491111111") == [ids[0], ids[2], ids[5]]
    assert await ids_for(phone=" 393491111111") == [ids[0], ids[2], ids[5]]
    assert await ids_for(phone="3491111111") == [ids[0], ids[2], ids[5]]
    assert await ids_for(phone="12") == []
    assert await ids_for(device_id=history["phone"], sim=0, status=7) == [ids[0]]


async def test_dates_bound_created_in_the_asked_zone(client, alice, history) -> None:
    ids = history["ids"]

    async def ids_for(**params) -> list[int]:  # noqa: ANN003
        return [int(k) for k in (await _list(client, alice, **params))["smss"]]

    # Alice's zone (Europe/Rome, UTC+1): 2024-01-10 23:30 UTC is already the 11th.
    assert await ids_for(begindate="2024-01-11", enddate="2024-01-11") == [ids[1], ids[2]]
    assert await ids_for(begindate="2024-01-11", enddate="2024-01-11", timezone="UTC") == [ids[2]]
    assert await ids_for(begindate="2024-01-12 10:00:00") == [ids[3], ids[4], ids[5]]
    assert await ids_for(enddate="2024-01-10 09:00") == [ids[0]]


async def test_dates_render_as_php_objects_in_the_asked_zone(client, alice, history) -> None:
    first = str(history["ids"][0])
    rome = (await _list(client, alice))["smss"][first]
    sydney = (await _list(client, alice, timezone="Australia/Sydney"))["smss"][first]
    assert rome["created"] == {"date": "2024-01-10 09:00:00.000000", "timezone_type": 3, "timezone": "Europe/Rome"}
    assert sydney["created"] == {"date": "2024-01-10 19:00:00.000000", "timezone_type": 3, "timezone": "Australia/Sydney"}
    assert rome["senttime"] is None  # delivered without a "sent" report in this history
    sent = (await _list(client, alice, timezone="UTC"))["smss"][str(history["ids"][2])]
    assert sent["senttime"]["timezone"] == "UTC" and sent["senttime"]["date"].endswith(tuple("0123456789"))


async def test_onlycount_orderbydesc_limit_offset(client, alice, history) -> None:
    ids = history["ids"]
    assert await _list(client, alice, onlycount=1) == {"error": 0, "message": "OK", "count": 6}
    assert await _list(client, alice, onlycount=1, sim=1) == {"error": 0, "message": "OK", "count": 2}
    newest = await _list(client, alice, orderbydesc=1)
    assert list(newest["smss"]) == [str(i) for i in reversed(ids)]
    page = await _list(client, alice, limit=2, offset=1)
    assert page["count"] == 6 and list(page["smss"]) == [str(ids[1]), str(ids[2])]
    page = await _list(client, alice, limit=2, offset=4, orderbydesc=1)
    assert list(page["smss"]) == [str(ids[1]), str(ids[0])]
    past_the_end = await _list(client, alice, offset=50)
    assert past_the_end["count"] == 6 and past_the_end["smss"] == {}
    huge = await _list(client, alice, limit=10**9)
    assert len(huge["smss"]) == 6


async def test_empty_optional_filters_are_ignored(client, alice, history) -> None:
    answer = await _list(client, alice, device_id="", status="", begindate="", enddate="", sim="", customerid="",
                         onlycount="", phone="", orderbydesc="", timezone="")
    assert answer["count"] == 6


async def test_default_page_is_1000_but_count_is_the_total(client, core, alice, phone) -> None:
    async with core.unit() as unit:
        account = await accounts.get(unit, alice.id)
        draft = messages.Draft(recipient="+393491234567", body="x", device_id=phone, slot=0)
        await messages.submit(unit, account, [draft] * 1005)
    answer = await _list(client, alice)
    assert answer["count"] == 1005 and len(answer["smss"]) == 1000
    rest = await _list(client, alice, offset=1000)
    assert len(rest["smss"]) == 5
