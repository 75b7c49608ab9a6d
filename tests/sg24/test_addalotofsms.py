"""addalotofsms: every way clients post it, ids in input order, 10,000 items in one call."""

from __future__ import annotations

import json
import time

from sqlalchemy import select

from postino.db.tables import batches, messages

from .conftest import stored_messages


def _items(phone: int, n: int) -> list[dict]:
    return [
        {"sendto": f"+3934912{i:05d}", "body": f"message {i}", "sim": i % 2, "device_id": phone,
         "customerid": i, "urgent": int(i % 10 == 0)}
        for i in range(n)
    ]


async def _bodies_in_order(core, ids: list[int]) -> list[str]:  # noqa: ANN001
    async with core.reader() as unit:
        rows = (await unit.conn.execute(select(messages.c.id, messages.c.body).where(messages.c.id.in_(ids)))).all()
    by_id = dict(rows)
    return [by_id[i] for i in ids]


async def test_every_client_style_of_posting(client, core, alice, phone) -> None:
    items = _items(phone, 3)
    datajson = json.dumps({"token": alice.sg24_token, "smsdata": items})
    without_token = json.dumps({"smsdata": items})
    styles = [
        ("form field", dict(data={"datajson": datajson})),
        ("multipart field", dict(data={"datajson": datajson}, files={"x": ("", b"")})),
        ("multipart file part", dict(files={"datajson": ("data.json", datajson.encode(), "application/json")})),
        ("query string", dict(params={"datajson": datajson})),
        ("raw JSON body", dict(json={"token": alice.sg24_token, "smsdata": items})),
        ("raw JSON, form content type", dict(content=datajson, headers={"content-type": "application/x-www-form-urlencoded"})),
        ("token outside datajson", dict(data={"token": alice.sg24_token, "datajson": without_token})),
        ("token in the query", dict(params={"token": alice.sg24_token}, data={"datajson": without_token})),
        ("JSON body with datajson string", dict(json={"datajson": datajson})),
        ("JSON body with datajson object", dict(json={"token": alice.sg24_token, "datajson": {"smsdata": items}})),
    ]
    for name, kwargs in styles:
        verb = "GET" if name == "query string" else "POST"
        answer = (await client.request(verb, "/getdata/addalotofsms", **kwargs)).json()
        assert answer["error"] == 0, (name, answer)
        assert answer["message"] == "OK"
        assert len(answer["sms_ids"]) == 3 and all(isinstance(i, int) for i in answer["sms_ids"])
        assert await _bodies_in_order(core, answer["sms_ids"]) == ["message 0", "message 1", "message 2"], name
    assert await stored_messages(core) == 3 * len(styles)


async def test_ten_thousand_items_in_one_call_all_or_nothing(client, core, alice, phone) -> None:
    items = _items(phone, 10_000)
    started = time.monotonic()
    answer = (await client.post("/getdata/addalotofsms", json={"token": alice.sg24_token, "smsdata": items})).json()
    elapsed = time.monotonic() - started
    assert answer["error"] == 0, answer
    assert len(answer["sms_ids"]) == 10_000 and answer["count"] == 10_000
    assert answer["sms_ids"] == sorted(answer["sms_ids"])
    assert elapsed < 30, f"10,000 items took {elapsed:.1f}s"
    async with core.reader() as unit:
        batch_ids = set((await unit.conn.execute(select(messages.c.batch_id).distinct())).scalars())
        kinds = set((await unit.conn.execute(select(batches.c.kind))).scalars())
        first = (await unit.conn.execute(select(messages).where(messages.c.id == answer["sms_ids"][0]))).one()
        last = (await unit.conn.execute(select(messages).where(messages.c.id == answer["sms_ids"][-1]))).one()
    assert len(batch_ids) == 1 and kinds == {"sg24_bulk"}
    assert (first.body, first.urgent, first.customer_id, first.slot) == ("message 0", True, "0", 0)
    assert (last.body, last.urgent, last.customer_id, last.slot) == ("message 9999", False, "9999", 1)

    items[9_998]["sendto"] = "nope"
    answer = (await client.post("/getdata/addalotofsms", json={"token": alice.sg24_token, "smsdata": items})).json()
    assert answer == {"error": 1, "message": "smsdata[9998]: Wrong phone number nope"}
    assert await stored_messages(core) == 10_000


async def test_more_than_ten_thousand_items_is_refused(client, core, alice, phone) -> None:
    items = [{"sendto": "+393491234567", "body": "x", "device_id": phone}] * 10_001
    answer = (await client.post("/getdata/addalotofsms", json={"token": alice.sg24_token, "smsdata": items})).json()
    assert answer == {"error": 1, "message": "Too many messages in smsdata (at most 10000)"}
    assert await stored_messages(core) == 0


async def test_items_keep_their_own_devices_and_comma_lists(client, core, alice, bob, phone) -> None:
    items = [
        {"sendto": "+393491234567,+393497654321", "body": "two", "device_id": str(phone)},
        {"sendto": "3491234567", "body": "national", "device_id": phone, "customerId": "A-1", "sim": ""},
    ]
    answer = (await client.post("/getdata/addalotofsms", json={"token": alice.sg24_token, "smsdata": items})).json()
    assert answer["error"] == 0
    async with core.reader() as unit:
        rows = (
            await unit.conn.execute(select(messages).where(messages.c.id.in_(answer["sms_ids"])).order_by(messages.c.id))
        ).all()
    assert [(r.recipient, r.body) for r in rows] == [
        ("+393491234567", "two"), ("+393497654321", "two"), ("+393491234567", "national")
    ]
    assert rows[2].customer_id == "A-1"
