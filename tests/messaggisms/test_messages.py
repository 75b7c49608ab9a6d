"""The /messages/ routes' rules: recipients, placeholders, sender, priority, test, transactions, options."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from postino.core.accounts import accounts
from postino.core.messages import lifecycle, queue
from postino.db.tables import batches, messages, outbox

from .conftest import bearer, deliver

URL = "/messages/"


async def rows(core, **where):  # noqa: ANN001, ANN003, ANN201
    async with core.reader() as unit:
        stmt = select(messages).order_by(messages.c.id)
        for key, value in where.items():
            stmt = stmt.where(messages.c[key] == value)
        return (await unit.conn.execute(stmt)).all()


async def post(client, h, **body):  # noqa: ANN001, ANN003, ANN201
    body.setdefault("sender", "alberto")
    body.setdefault("body", "hello")
    body.setdefault("recipients", "+39-3491234567")
    return await client.post(URL, json=body, headers=h)


async def test_placeholders_fill_per_recipient(client, core, alice, phone, h) -> None:
    r = await post(
        client, h, body="Ciao {{name}} {{ surname }}{{missing}}!",
        recipients=[{"number": "+39-3491234567", "fields": {"name": "Simone", "surname": "Rossi"}},
                    {"number": "+39-3491234568", "fields": {"name": "Anna"}}, "+39-3491234569"],
    )
    assert r.status_code == 201
    assert [m.body for m in await rows(core)] == ["Ciao Simone Rossi!", "Ciao Anna !", "Ciao  !"]


async def test_italian_keys(client, core, alice, phone, h) -> None:
    r = await client.post(URL, headers=h, json={
        "sender": "alberto", "corpo": "Test invio {{nome}}",
        "recipients": {"numero": "+39-3491234567", "campi": {"nome": "simone", "cognome": "rossi"}}})
    assert r.status_code == 201, r.text
    mid = r.json()["data"][0]["id"]
    assert [m.body for m in await rows(core)] == ["Test invio simone"]
    item = (await client.get(f"{URL}{mid}/recipients/", headers=h)).json()["data"][0]
    assert item["fields"] == {"nome": "simone", "cognome": "rossi"}


async def test_bad_recipients_are_listed_not_sent(client, core, alice, phone, h) -> None:
    bad = ["+393491234567", "3491234567", "+39 3491234567", "+39-abc", "0039-3491234567", "+39-"]
    r = await post(client, h, recipients=["+39-3491234567", *bad, {"number": 5}])
    assert r.status_code == 201
    m = r.json()["data"][0]
    assert m["recipients"]["valid"]["count"] == 1
    assert m["recipients"]["invalid"] == {"total": 7, "list": [*bad, '{"number": 5}']}
    assert [x.recipient for x in await rows(core)] == ["+393491234567"]
    r = await post(client, h, recipients=bad)
    assert (r.status_code, r.json()["error"], r.json()["data"]) == (422, 304, None)
    r = await post(client, h, recipients=None)
    assert (r.status_code, r.json()["error"], r.json()["message"]) == (422, 302, "missing 'recipients' parameter")


@pytest.mark.parametrize(
    ("sender", "ok"),
    [("alberto", True), ("abc", True), ("Shop24", True), ("abcdefghijk", True), ("ab", False),
     ("abcdefghijkl", False), ("3939989741", True), ("+39399897411234", True), ("123456789012345", False),
     ("12", False), ("al!berto", False), ("Shop 24", False), ("ab cd", False), ("al-berto", False),
     (393491234567, True), (12, False), (True, False), (1.5, False), (["abc"], False)],
)
async def test_sender_rule(client, alice, phone, h, sender, ok: bool) -> None:  # noqa: ANN001
    r = await post(client, h, sender=sender)
    assert r.status_code == (201 if ok else 422), r.text
    if not ok:
        assert r.json()["error"] == 303


async def test_priority_orders_the_queue_and_multiplies_the_price(client, core, alice, phone, h) -> None:
    for body, priority in (("low", 1), ("high", 2), ("mid", 1.5)):
        r = await post(client, h, body=body, priority=priority)
        assert r.status_code == 201
        assert r.json()["data"][0]["price"] == pytest.approx(0.045 * priority)
        assert r.json()["data"][0]["base_price"] == 0.045
    r = await post(client, h, body="otp", options={"realtime": True})
    assert r.status_code == 201
    r = await post(client, h, priority=0.5)
    assert (r.status_code, r.json()["error"]) == (422, 303)
    async with core.unit() as unit:
        claimed = await queue.claim_for_device(unit, phone.id)
    assert [m.body for m in claimed] == ["otp", "high", "mid", "low"]
    assert (await client.get(URL, headers=h)).json()["credit"] == "99.7525"  # 100 - 0.045 * (1 + 2 + 1.5 + 1)


async def test_test_message_is_priced_not_sent(client, core, alice, h) -> None:
    """No phone needed: nothing is routed."""
    r = await post(client, h, test=True, body="x" * 161, recipients=["+39-3491234567", "+39-3491234568"])
    assert r.status_code == 201 and r.json()["message"] == "Test Message"
    m = r.json()["data"][0]
    assert (m["test"], m["state"], m["price"], m["statistics"]["sms_total"]) == (True, 4, 0.18, 4)
    assert r.json()["credit"] == "100"
    assert await rows(core) == []
    items = (await client.get(f"{URL}{m['id']}/recipients/", headers=h)).json()["data"]
    assert [(i["state"], i["sms"], i["price"]) for i in items] == [("TEST", 2, 0.09), ("TEST", 2, 0.09)]
    one = await client.get(f"{URL}{m['id']}/recipients/+39-3491234568", headers=h)
    assert one.json()["data"][0]["i"] == 1


async def test_transaction_open_extend_close(client, core, alice, phone, h) -> None:
    r = await post(client, h, transaction=True, body="Hi {{name}}", recipients={"number": "+39-3491234560", "fields": {"name": "A"}})
    mid = r.json()["data"][0]["id"]
    assert r.json()["data"][0]["transaction"] is True
    r = await client.put(f"{URL}{mid}", headers=h, json={"recipients": [{"number": "+39-3491234561", "fields": {"name": "B"}}, "bad"],
                                                           "options": {"flash": True}})
    assert r.status_code == 200 and r.json()["data"]["recipients"]["invalid"]["list"] == ["bad"]
    assert {m.state for m in await rows(core)} == {"draft"}
    assert r.json()["credit"] == "100"
    r = await client.put(f"{URL}{mid}/", headers=h, json={"transaction": False})
    assert r.status_code == 200, r.text
    m = r.json()["data"]
    assert (m["transaction"], m["state"], m["recipients"]["valid"]["count"], m["options"]["flash"]) == (False, 0, 2, True)
    assert r.json()["credit"] == "99.91"
    found = await rows(core)
    assert [(x.body, x.state, x.seq, x.extra) for x in found] == [
        ("Hi A", "queued", 0, {"flash": True}), ("Hi B", "queued", 1, {"flash": True})]
    r = await client.put(f"{URL}{mid}/", headers=h, json={"recipients": ["+39-3491234562"]})
    assert (r.status_code, r.json()["error"], r.json()["message"]) == (422, 212, "Transaction already closed")


async def test_closing_an_empty_transaction_is_refused(client, alice, phone, h) -> None:
    r = await post(client, h, transaction=True)
    mid = r.json()["data"][0]["id"]
    assert (await client.delete(f"{URL}{mid}", headers=h)).status_code == 200
    r = await client.put(f"{URL}{mid}", headers=h, json={"transaction": False})
    assert (r.status_code, r.json()["error"]) == (422, 212)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2030-05-20", datetime(2030, 5, 19, 22, tzinfo=timezone.utc)),  # midnight in Rome (CEST)
        ("20-05-2030", datetime(2030, 5, 19, 22, tzinfo=timezone.utc)),
        ("2030-05-20T09:30:00Z", datetime(2030, 5, 20, 9, 30, tzinfo=timezone.utc)),
        ("2030-05-20T09:30:00+02:00", datetime(2030, 5, 20, 7, 30, tzinfo=timezone.utc)),
        ("2030-05-20 11:30", datetime(2030, 5, 20, 9, 30, tzinfo=timezone.utc)),
        (1905480000000, datetime(2030, 5, 20, 4, 0, tzinfo=timezone.utc)),
        ("1905480000000", datetime(2030, 5, 20, 4, 0, tzinfo=timezone.utc)),
    ],
)
async def test_timestamp_send_formats(client, core, alice, phone, h, value, expected) -> None:  # noqa: ANN001
    r = await post(client, h, options={"timestamp_send": value})
    assert r.status_code == 201, r.text
    assert r.json()["data"][0]["options"]["timestamp_send"] == str(int(expected.timestamp() * 1000))
    [m] = await rows(core)
    assert (m.state, m.due_at) == ("scheduled", expected)


async def test_timestamp_send_invalid_and_past(client, core, alice, phone, h) -> None:
    r = await post(client, h, options={"timestamp_send": "2030/05/20"})
    assert (r.status_code, r.json()["error"]) == (422, 303)
    r = await post(client, h, options={"timestamp_send": "2018-05-20"})
    assert r.status_code == 201
    assert [m.state for m in await rows(core)] == ["queued"]


async def test_put_moves_the_send_time_until_handed(client, core, alice, phone, h) -> None:
    r = await post(client, h)
    mid = r.json()["data"][0]["id"]
    r = await client.put(f"{URL}{mid}", headers=h, json={"options": {"timestamp_send": "2031-01-01"}})
    assert r.status_code == 200, r.text
    assert [m.state for m in await rows(core)] == ["scheduled"]
    r = await client.put(f"{URL}{mid}", headers=h, json={"options": {"flash": True}})
    assert (r.status_code, r.json()["error"]) == (422, 213)
    r = await client.put(f"{URL}{mid}", headers=h, json={"options": {"timestamp_send": "2020-01-01"}})
    assert r.status_code == 200
    async with core.unit() as unit:
        await queue.promote_due(unit)
    assert [m.state for m in await rows(core)] == ["queued"]
    await deliver(core, phone.id, to="sent")
    r = await client.put(f"{URL}{mid}", headers=h, json={"options": {"timestamp_send": "2031-01-01"}})
    assert (r.status_code, r.json()["error"]) == (422, 213)


async def test_realtime_is_urgent_and_one_per_minute(client, core, alice, phone, h) -> None:
    r = await post(client, h, options={"realtime": True})
    assert r.status_code == 201 and r.json()["data"][0]["options"]["realtime"] is True
    r = await post(client, h, body="second", options={"realtime": True})
    assert (r.status_code, r.json()["error"], r.json()["data"]) == (429, 230, None)
    assert r.json()["credit"] == "99.955"
    assert await post(client, h, body="normal") is not None
    assert [(m.body, m.urgent) for m in await rows(core)] == [("hello", True), ("normal", False)]
    r = await post(client, h, test=True, options={"realtime": True})  # a test sends nothing
    assert r.status_code == 201


async def test_flash_reaches_the_message(client, core, alice, phone, h) -> None:
    r = await post(client, h, options={"flash": True})
    assert r.status_code == 201
    assert [m.extra for m in await rows(core)] == [{"flash": True}]


async def test_callback_on_each_state_change(client, core, alice, phone, h) -> None:
    r = await post(client, h, recipients=["+39-3491234567", "+39-3491234568"],
                   options={"callback_url": "https://example.com/cb", "callback_field": "payload"})
    mid = r.json()["data"][0]["id"]
    await deliver(core, phone.id)
    async with core.reader() as unit:
        found = (await unit.conn.execute(select(outbox).order_by(outbox.c.id))).all()
    assert [(o.url, o.form_field, o.payload["changed"][0]["state"]) for o in found] == [
        ("https://example.com/cb", "payload", "SENT"), ("https://example.com/cb", "payload", "DELIVERED")]
    last = found[-1].payload
    assert (last["id"], last["state"], last["statistics"]["delivered"]) == (mid, 2, 2)
    assert [c["number"] for c in last["changed"]] == ["+39-3491234567", "+39-3491234568"]
    r = await post(client, h, options={"callback_url": "ftp://example.com/"})
    assert (r.status_code, r.json()["error"]) == (422, 303)


async def test_json_body_whatever_the_content_type(client, alice, phone, h) -> None:
    raw = '{"sender": "alberto", "body": "x", "recipients": "+39-3491234567"}'
    for content_type in ("application/x-www-form-urlencoded", "text/plain", None):
        headers = {**h, **({"Content-Type": content_type} if content_type else {})}
        r = await client.post("/messages", content=raw, headers=headers)
        assert r.status_code == 201, (content_type, r.text)
    r = await client.post(URL, content="sender=alberto&body=x&recipients=%2B39-3491234567", headers=h)
    assert r.status_code == 201
    r = await client.post(URL, content="{not json", headers=h)
    assert (r.status_code, r.json()["error"]) == (400, 300)
    r = await client.post(URL, content="[1, 2]", headers=h)
    assert (r.status_code, r.json()["error"]) == (400, 300)


async def test_no_phone_is_a_clear_error(client, core, alice, h) -> None:
    r = await post(client, h)
    assert (r.status_code, r.json()["error"]) == (422, 305)
    async with core.reader() as unit:
        assert await unit.conn.scalar(select(func.count()).select_from(batches)) == 0


async def test_every_route_with_and_without_slash(client, alice, phone, h) -> None:
    mid = (await post(client, h, transaction=True)).json()["data"][0]["id"]
    for path in ("/messages", "/messages/", f"/messages/{mid}", f"/messages/{mid}/", f"/messages/{mid}/recipients",
                 f"/messages/{mid}/recipients/", f"/messages/{mid}/recipients/+39-3491234567",
                 f"/messages/{mid}/recipients/+39-3491234567/"):
        r = await client.get(path, headers=h)
        assert r.status_code == 200, path
    assert (await client.put(f"/messages/{mid}", json={}, headers=h)).status_code == 200
    assert (await client.delete(f"/messages/{mid}", headers=h)).status_code == 200


async def test_accounts_are_isolated(client, core, alice, bob, phone, h) -> None:
    mid = (await post(client, h)).json()["data"][0]["id"]
    other = bearer(bob.bearer_token)
    assert (await client.get(URL, headers=other)).json()["data"] == []
    for method, path, code in (("GET", f"{URL}{mid}", 203), ("GET", f"{URL}{mid}/recipients/", 203),
                               ("GET", f"{URL}{mid}/recipients/+39-3491234567", 203), ("PUT", f"{URL}{mid}", 211),
                               ("DELETE", f"{URL}{mid}", 219)):
        r = await client.request(method, path, headers=other, json={} if method == "PUT" else None)
        assert (r.status_code, r.json()["error"]) == (404, code), (method, path)
    assert [m.state for m in await rows(core)] == ["queued"]
    async with core.reader() as unit:
        assert (await accounts.get(unit, alice.id)).id == alice.id


async def test_failed_recipient_counts_as_error(client, core, alice, phone, h) -> None:
    mid = (await post(client, h)).json()["data"][0]["id"]
    await deliver(core, phone.id, to=lifecycle.FAILED)
    m = (await client.get(f"{URL}{mid}", headers=h)).json()["data"][0]
    assert (m["state"], m["statistics"]["error"], m["statistics"]["sent"]) == (2, 1, 0)
    item = (await client.get(f"{URL}{mid}/recipients/", headers=h)).json()["data"][0]
    assert (item["state"], item["report"]["error"]["name"]) == ("FAILED", "NO_SERVICE")
