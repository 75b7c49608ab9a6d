"""How clients send: GET and POST, query, url-encoded, multipart, JSON; the client habits the spec lists."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from urllib.parse import parse_qsl

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from postino.core.messages import queue
from postino.db.tables import messages
from postino.dialects.sg24.params import parse

from .conftest import register_phone, stored_messages

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


async def _rows(core, ids: list[int]) -> list:  # noqa: ANN001
    async with core.reader() as unit:
        rows = (await unit.conn.execute(select(messages).where(messages.c.id.in_(ids)).order_by(messages.c.id))).all()
    return list(rows)


async def test_every_way_of_sending_fields_is_understood(client, core, alice, phone) -> None:
    fields = {"token": alice.sg24_token, "sendto": "+393491234567", "body": "hello", "device_id": str(phone)}
    answers = [
        await client.get("/getdata/addsms", params=fields),
        await client.post("/getdata/addsms", data=fields),
        await client.post("/getdata/addsms", data=fields, files={"unused": ("", b"")}),  # multipart
        await client.post("/getdata/addsms", json=fields),
        await client.post("/getdata/addsms", json={**fields, "device_id": phone}),
        # curl -d '{...}' sends JSON with the url-encoded content type
        await client.post(
            "/getdata/addsms",
            content=f'{{"token":"{alice.sg24_token}","sendto":"+393491234567","body":"hello","device_id":{phone}}}',
            headers={"content-type": "application/x-www-form-urlencoded"},
        ),
        # token in the query, the rest in the body
        await client.post(f"/getdata/addsms?token={alice.sg24_token}", data={k: v for k, v in fields.items() if k != "token"}),
    ]
    for response in answers:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"] == 0, response.json()
    rows = await _rows(core, [r.json()["sms_id"] for r in answers])
    assert {(r.recipient, r.body, r.device_id, r.slot) for r in rows} == {("+393491234567", "hello", phone, 0)}


async def test_plus_written_as_2B_or_bare_in_a_get_query(client, core, alice, phone) -> None:
    escaped = await client.get(
        f"/getdata/addsms?token={alice.sg24_token}&sendto=%2B4915752982212&body=a&device_id={phone}"
    )
    bare = await client.get(f"/getdata/addsms?token={alice.sg24_token}&sendto=+4915752982212&body=a+b&device_id={phone}")
    two = await client.get(
        f"/getdata/addsms?token={alice.sg24_token}&sendto=+4915752982212,+4917642111111&body=c&device_id={phone}"
    )
    ids = [escaped.json()["sms_id"], bare.json()["sms_id"], *two.json()["sms_ids"]]
    rows = await _rows(core, ids)
    assert [r.recipient for r in rows] == ["+4915752982212", "+4915752982212", "+4915752982212", "+4917642111111"]
    assert [r.recipient_raw for r in rows] == ["+4915752982212", "+4915752982212", "+4915752982212", "+4917642111111"]
    assert rows[1].body == "a b"


async def test_sendto_with_several_numbers_gives_one_message_each_and_drops_duplicates(client, core, alice, phone) -> None:
    answer = (
        await client.post(
            "/getdata/addsms",
            data={"token": alice.sg24_token, "sendto": "+393491234567, +39 349 7654321,+393491234567, 00393491234567",
                  "body": "x", "device_id": phone},
        )
    ).json()
    assert answer["error"] == 0
    assert len(answer["sms_ids"]) == 2 and answer["sms_id"] == answer["sms_ids"][0]
    rows = await _rows(core, answer["sms_ids"])
    assert [r.recipient for r in rows] == ["+393491234567", "+393497654321"]
    assert [r.recipient_raw for r in rows] == ["+393491234567", "+39 349 7654321"]


async def test_numbers_without_plus_or_with_spaces_use_the_account_country_and_keep_what_was_sent(
    client, core, bob, bob_phone
) -> None:
    sent = ["015752982212", "4915752982212", "+49 157 52982212"]
    ids = []
    for number in sent:
        answer = (
            await client.post(
                "/getdata/addsms", data={"token": bob.sg24_token, "sendto": number, "body": "x", "device_id": bob_phone}
            )
        ).json()
        ids.append(answer["sms_id"])
    rows = await _rows(core, ids)
    assert [r.recipient for r in rows] == ["+4915752982212"] * 3
    listed = (await client.get("/getdata/getallsms", params={"token": bob.sg24_token})).json()
    assert [listed["smss"][str(i)]["sendto"] for i in ids] == sent


async def test_camelcase_customer_id_and_empty_optional_fields(client, core, alice, phone) -> None:
    answer = (
        await client.post(
            "/getdata/addsms",
            data={"token": alice.sg24_token, "sendto": "+393491234567", "body": "x", "device_id": phone,
                  "customerId": "4711", "sim": "", "timetosend": "", "urgent": "", "file": ""},
        )
    ).json()
    assert answer["error"] == 0, answer
    (row,) = await _rows(core, [answer["sms_id"]])
    assert (row.customer_id, row.slot, row.due_at, row.urgent, row.state) == ("4711", 0, None, False, "queued")
    listed = (await client.get("/getdata/getallsms", params={"token": alice.sg24_token, "customerId": "4711"})).json()
    assert listed["count"] == 1 and listed["smss"][str(row.id)]["customerid"] == 4711


async def test_timetosend_is_read_in_the_account_zone_with_or_without_seconds(client, core, alice, phone) -> None:
    ids = []
    for when in ("2031-08-01 12:00", "2031-08-01 12:00:30", "2031-08-01"):
        answer = (
            await client.get(
                "/getdata/addsms",
                params={"token": alice.sg24_token, "sendto": "+393491234567", "body": "x", "device_id": phone,
                        "timetosend": when},
            )
        ).json()
        ids.append(answer["sms_id"])
    rows = await _rows(core, ids)
    # Alice's zone is Europe/Rome: UTC+2 in August.
    assert [r.due_at for r in rows] == [
        datetime(2031, 8, 1, 10, 0, tzinfo=timezone.utc),
        datetime(2031, 8, 1, 10, 0, 30, tzinfo=timezone.utc),
        datetime(2031, 7, 31, 22, 0, tzinfo=timezone.utc),
    ]
    assert {r.state for r in rows} == {"scheduled"}
    listed = (await client.get("/getdata/getallsms", params={"token": alice.sg24_token})).json()
    assert listed["smss"][str(ids[0])]["timetosend"] == {
        "date": "2031-08-01 12:00:00.000000", "timezone_type": 3, "timezone": "Europe/Rome"
    }
    assert listed["smss"][str(ids[0])]["status"] == 1


async def test_urgent_messages_overtake_the_queue_of_their_device(client, core, alice, phone) -> None:
    ids = {}
    for body, urgent in (("news 1", "0"), ("news 2", ""), ("code 1234", "1")):
        answer = (
            await client.post(
                "/getdata/addsms",
                data={"token": alice.sg24_token, "sendto": "+393491234567", "body": body, "device_id": phone,
                      "urgent": urgent},
            )
        ).json()
        ids[body] = answer["sms_id"]
    async with core.unit() as unit:
        claimed = await queue.claim_for_device(unit, phone)
    assert [r.body for r in claimed] == ["code 1234", "news 1", "news 2"]
    listed = (await client.get("/getdata/getallsms", params={"token": alice.sg24_token})).json()
    assert listed["smss"][str(ids["code 1234"])]["urgent"] == 1
    assert listed["smss"][str(ids["code 1234"])]["status"] == 3  # handed to the phone: "queued"


async def test_emoji_and_non_gsm_text_is_kept_as_sent(client, core, alice, phone) -> None:
    body = "Grazie! 🎉 Привет — ½"
    answer = (
        await client.post(
            "/getdata/addsms", data={"token": alice.sg24_token, "sendto": "+393491234567", "body": body, "device_id": phone}
        )
    ).json()
    (row,) = await _rows(core, [answer["sms_id"]])
    assert row.body == body and row.encoding == "ucs2"
    listed = (await client.get("/getdata/getallsms", params={"token": alice.sg24_token})).json()
    assert listed["smss"][str(row.id)]["body"] == body


async def test_an_image_file_replaces_the_body_with_its_public_url(client, core, alice, phone) -> None:
    answer = (
        await client.post(
            "/getdata/addsms",
            data={"token": alice.sg24_token, "sendto": "+393491234567", "device_id": phone, "sim": "2"},
            files={"file": ("photo.txt", PNG, "text/plain")},
        )
    ).json()
    assert answer["error"] == 0, answer
    (row,) = await _rows(core, [answer["sms_id"]])
    assert row.channel == "whatsapp" and row.slot == 2
    assert row.body.startswith("http") and row.body.endswith(".png")
    assert row.media_url == row.body
    served = await client.get(httpx.URL(row.body).path)
    assert served.status_code == 200 and served.content == PNG
    # On an SMS slot the recipient gets the link as text.
    answer = (
        await client.post(
            "/getdata/addsms",
            data={"token": alice.sg24_token, "sendto": "+393491234567", "device_id": phone, "body": "ignored"},
            files={"file": ("photo.png", PNG, "image/png")},
        )
    ).json()
    (row,) = await _rows(core, [answer["sms_id"]])
    assert row.channel == "sms" and row.media_url is None and row.body.endswith(".png")


async def test_unknown_method_is_404_and_names_are_forgiving(client, alice) -> None:
    for verb in ("GET", "POST"):
        response = await client.request(verb, "/getdata/sendeverything", params={"token": alice.sg24_token})
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"error": 1, "message": "Unknown method"}
    assert (await client.get("/getdata/GetAllDevices", params={"token": alice.sg24_token})).json()["error"] == 0
    assert (await client.post("/getdata/getalldevices/", data={"token": alice.sg24_token})).json()["error"] == 0


async def test_every_method_is_in_the_openapi_document(client) -> None:
    spec = (await client.get("/openapi.json")).json()
    for name in ("gettoken", "addsms", "smstosend", "addalotofsms", "getallsms", "savetag", "savecontact",
                 "savepaket", "getalldevices", "getsmsstatus", "getdevicestatus"):
        path = spec["paths"][f"/getdata/{name}"]
        assert set(path) == {"get", "post"}
        assert any(p["name"] == "token" or p["name"] == "email" or p["name"] == "datajson" for p in path["get"]["parameters"])
    addsms = spec["paths"]["/getdata/addsms"]["post"]["requestBody"]["content"]
    assert addsms["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"


async def test_wrong_tokens_never_store_anything(client, core, alice, phone) -> None:
    for token in ("", "nope", "0" * 32, alice.sg24_token.upper()):
        answer = (
            await client.get(
                "/getdata/addsms", params={"token": token, "sendto": "+393491234567", "body": "x", "device_id": phone}
            )
        ).json()
        assert answer == {"error": 1, "message": "Token is wrong"}
    assert await stored_messages(core) == 0


async def test_a_device_added_later_is_usable_at_once(client, core, alice) -> None:
    device = await register_phone(core, alice.id, name="new")
    answer = (
        await client.get(
            "/getdata/addsms", params={"token": alice.sg24_token, "sendto": "+393491234567", "body": "x", "device_id": device}
        )
    ).json()
    assert answer["error"] == 0


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["a", "B", "=", "&", "+", "%", "%2B", "%20", "%C3%A9", "%zz", "é", ";", " "]),
                max_size=24).map("".join).filter(str.strip))
def test_form_bodies_read_like_the_standard_library(text: str) -> None:
    """addsms's own form reader gives exactly the pairs of ``parse_qsl`` (keys lower-cased)."""
    expected = {k.lower(): v for k, v in parse_qsl(text, keep_blank_values=True)}
    assert parse("", "application/x-www-form-urlencoded", text.encode()).values == expected
