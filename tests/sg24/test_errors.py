"""Bad requests: each gets its clear ``{"error":1,"message":…}`` (HTTP 200) and nothing is stored."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select

from postino.db.tables import contacts, media, tags

from .conftest import register_phone, stored_messages

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
TOKEN_METHODS = ("addsms", "addalotofsms", "getallsms", "savetag", "savecontact", "savepaket", "getalldevices",
                 "getsmsstatus", "getdevicestatus")


async def _error(client, method: str, data: dict, files: dict | None = None) -> str:  # noqa: ANN001
    response = await client.post(f"/getdata/{method}", data=data, files=files)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert answer["error"] == 1, answer
    assert set(answer) == {"error", "message"}
    return answer["message"]


async def _count(core, table) -> int:  # noqa: ANN001
    async with core.reader() as unit:
        return int(await unit.conn.scalar(select(func.count()).select_from(table)))


@pytest.mark.parametrize("method", TOKEN_METHODS)
async def test_wrong_token_on_every_method(client, core, alice, phone, method: str) -> None:
    fields = {"token": "0123456789abcdef0123456789abcdef", "sendto": "+393491234567", "body": "x", "device_id": phone,
              "title": "t", "phone": "+393491234567", "ctag_id": 1, "fullname": "n", "tags": "1", "sms_id": 1,
              "datajson": '{"token":"0123456789abcdef0123456789abcdef","smsdata":[{"sendto":"+393491234567",'
                          f'"body":"x","device_id":{phone}}}]}}'}
    assert await _error(client, method, fields) == "Token is wrong"
    assert await stored_messages(core) == 0


async def test_another_accounts_device_is_not_found(client, core, alice, bob, phone, bob_phone) -> None:
    send = {"token": alice.sg24_token, "sendto": "+393491234567", "body": "x", "device_id": bob_phone}
    assert await _error(client, "addsms", send) == "Device not found"
    assert await _error(client, "smstosend", {**send, "token": "", "email": alice.email, "pass": alice.password}) == (
        "Device not found"
    )
    bulk = '{"smsdata":[{"sendto":"+393491234567","body":"x","device_id":%d}]}' % bob_phone
    assert await _error(client, "addalotofsms", {"token": alice.sg24_token, "datajson": bulk}) == (
        "smsdata[0]: Device not found"
    )
    assert await _error(client, "getallsms", {"token": alice.sg24_token, "device_id": bob_phone}) == "Device not found"
    assert await _error(client, "getdevicestatus", {"token": alice.sg24_token, "device_id": bob_phone}) == (
        "Device not found"
    )
    tag = (await client.post("/getdata/savetag", data={"token": alice.sg24_token, "title": "x"})).json()["tag_id"]
    assert await _error(
        client, "savepaket",
        {"token": alice.sg24_token, "title": "t", "device_id": bob_phone, "body": "b", "tags": str(tag)},
    ) == "Device not found"
    for not_a_device in ("abc", "999999", "1.5"):
        assert await _error(client, "addsms", {**send, "device_id": not_a_device}) == "Device not found"
    assert await stored_messages(core) == 0


async def test_another_accounts_messages_and_tags_are_not_found(client, core, alice, bob, bob_phone) -> None:
    bobs = (
        await client.post(
            "/getdata/addsms", data={"token": bob.sg24_token, "sendto": "+4915752982212", "body": "x", "device_id": bob_phone}
        )
    ).json()["sms_id"]
    assert await _error(client, "getsmsstatus", {"token": alice.sg24_token, "sms_id": bobs}) == "Sms not found"
    assert (await client.get("/getdata/getallsms", params={"token": alice.sg24_token})).json()["count"] == 0
    assert (await client.get("/getdata/getalldevices", params={"token": alice.sg24_token})).json()["count"] == 0
    bob_tag = (await client.post("/getdata/savetag", data={"token": bob.sg24_token, "title": "Bob"})).json()["tag_id"]
    message = await _error(
        client, "savecontact", {"token": alice.sg24_token, "phone": "+393491234567", "ctag_id": bob_tag, "fullname": "A"}
    )
    assert message == f"Tag {bob_tag} not found"
    assert await _count(core, contacts) == 0


@pytest.mark.parametrize("sim", ["6", "-1", "x", "100"])
async def test_bad_sim_values(client, core, alice, phone, sim: str) -> None:
    data = {"token": alice.sg24_token, "sendto": "+393491234567", "body": "x", "device_id": phone, "sim": sim}
    assert await _error(client, "addsms", data) == "Wrong sim value (0-5)"
    assert await stored_messages(core) == 0


async def test_a_slot_the_device_does_not_have(client, core, alice) -> None:
    device = await register_phone(core, alice.id, sim_cards=[{"slotIndex": 0, "simNumber": 1}])
    data = {"token": alice.sg24_token, "sendto": "+393491234567", "body": "x", "device_id": device}
    for sim in ("1", "2", "4"):
        assert await _error(client, "addsms", {**data, "sim": sim}) == f"Device has no sim slot {sim}"
    assert await stored_messages(core) == 0


@pytest.mark.parametrize("when", ["2021-13-01", "tomorrow", "01.08.2021 10:00:00", "2021-08-01 25:00", "1627812000"])
async def test_bad_timetosend(client, core, alice, phone, when: str) -> None:
    data = {"token": alice.sg24_token, "sendto": "+393491234567", "body": "x", "device_id": phone, "timetosend": when}
    assert await _error(client, "addsms", data) == "Wrong timetosend format"
    assert await stored_messages(core) == 0


async def test_bad_filters_of_getallsms(client, alice) -> None:
    token = {"token": alice.sg24_token}
    assert await _error(client, "getallsms", {**token, "begindate": "yesterday"}) == "Wrong begindate format"
    assert await _error(client, "getallsms", {**token, "enddate": "2023-02-30"}) == "Wrong enddate format"
    assert await _error(client, "getallsms", {**token, "timezone": "Mars/Olympus"}) == "Wrong timezone"
    assert await _error(client, "getallsms", {**token, "status": "delivered"}) == "Wrong status"
    assert await _error(client, "getallsms", {**token, "limit": "-5"}) == "limit and offset must not be negative"


@pytest.mark.parametrize(
    ("missing", "message"),
    [("sendto", "Field sendto is required"), ("body", "Field body is required"),
     ("device_id", "Field device_id is required")],
)
async def test_missing_fields_of_addsms(client, core, alice, phone, missing: str, message: str) -> None:
    data = {"token": alice.sg24_token, "sendto": "+393491234567", "body": "x", "device_id": phone}
    assert await _error(client, "addsms", {k: v for k, v in data.items() if k != missing}) == message
    assert await _error(client, "addsms", {**data, missing: "  "}) == message
    assert await stored_messages(core) == 0


async def test_missing_fields_of_the_other_methods(client, core, alice, phone) -> None:
    t = alice.sg24_token
    assert await _error(client, "savetag", {"token": t}) == "Field title is required"
    tag = (await client.post("/getdata/savetag", data={"token": t, "title": "T"})).json()["tag_id"]
    assert await _error(client, "savecontact", {"token": t, "ctag_id": tag, "fullname": "A"}) == "Field phone is required"
    assert await _error(client, "savecontact", {"token": t, "phone": "+393491234567", "fullname": "A"}) == (
        "Field ctag_id is required"
    )
    assert await _error(client, "savecontact", {"token": t, "phone": "+393491234567", "ctag_id": tag}) == (
        "Field fullname is required"
    )
    assert await _error(client, "savecontact", {"token": t, "phone": "not a phone", "ctag_id": tag, "fullname": "A"}) == (
        "Invalid phone number 'not a phone'"
    )
    paket = {"token": t, "title": "P", "device_id": phone, "body": "B", "tags": str(tag)}
    for field in ("title", "device_id", "body", "tags"):
        assert await _error(client, "savepaket", {k: v for k, v in paket.items() if k != field}) == (
            f"Field {field} is required"
        )
    assert await _error(client, "savepaket", {**paket, "tags": "1,x"}) == "Wrong tags (tag ids separated by commas)"
    assert await _error(client, "savepaket", {**paket, "tags": "999"}) == "Tag 999 not found"
    assert await _error(client, "savepaket", {**paket, "time_to_send": "2030/05/29"}) == "Wrong time_to_send format"
    assert await _error(client, "getsmsstatus", {"token": t}) == "Field sms_id is required"
    assert await _error(client, "getsmsstatus", {"token": t, "sms_id": "abc"}) == "Sms not found"
    assert await _error(client, "getdevicestatus", {"token": t}) == "Field device_id is required"
    assert await _count(core, contacts) == 0
    assert await _count(core, tags) == 1
    assert await stored_messages(core) == 0


async def test_bad_phone_numbers(client, core, alice, phone) -> None:
    data = {"token": alice.sg24_token, "body": "x", "device_id": phone}
    assert await _error(client, "addsms", {**data, "sendto": "hello"}) == "Wrong phone number hello"
    assert await _error(client, "addsms", {**data, "sendto": "+393491234567,12"}) == "Wrong phone number 12"
    assert await _error(client, "addsms", {**data, "sendto": " , ,"}) == "Field sendto is required"
    assert await stored_messages(core) == 0


@pytest.mark.parametrize(
    ("datajson", "message"),
    [
        ("{not json", "datajson is not valid JSON"),
        ("[1, 2]", "datajson must be a JSON object"),
        ('{"smsdata": []}', "Field smsdata is required (a list of messages)"),
        ('{"smsdata": {"sendto": "1"}}', "Field smsdata is required (a list of messages)"),
        ('{"smsdata": ["text"]}', "smsdata[0]: not an object"),
    ],
)
async def test_malformed_datajson(client, core, alice, datajson: str, message: str) -> None:
    assert await _error(client, "addalotofsms", {"token": alice.sg24_token, "datajson": datajson}) == message
    assert await stored_messages(core) == 0


async def test_missing_datajson_and_malformed_json_bodies(client, core, alice) -> None:
    assert await _error(client, "addalotofsms", {"token": alice.sg24_token}) == "Field datajson is required"
    response = await client.post(
        "/getdata/addsms", content=b'{"token": "x", ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 200 and response.json() == {"error": 1, "message": "Malformed JSON body"}
    assert await stored_messages(core) == 0


async def test_a_bad_item_names_its_index_and_nothing_is_stored(client, core, alice, phone) -> None:
    good = {"sendto": "+393491234567", "body": "ok", "device_id": phone}
    items = [good, good, good, {**good, "sim": 9}, good]
    response = await client.post("/getdata/addalotofsms", json={"token": alice.sg24_token, "smsdata": items})
    assert response.json() == {"error": 1, "message": "smsdata[3]: Wrong sim value (0-5)"}
    items = [good, {**good, "timetosend": "soon"}]
    response = await client.post("/getdata/addalotofsms", json={"token": alice.sg24_token, "smsdata": items})
    assert response.json() == {"error": 1, "message": "smsdata[1]: Wrong timetosend format"}
    items = [good, good, {"body": "no recipient", "device_id": phone}]
    response = await client.post("/getdata/addalotofsms", json={"token": alice.sg24_token, "smsdata": items})
    assert response.json() == {"error": 1, "message": "smsdata[2]: Field sendto is required"}
    assert await stored_messages(core) == 0


async def test_oversized_and_fake_images_are_refused(client, core, alice, phone, settings) -> None:
    data = {"token": alice.sg24_token, "sendto": "+393491234567", "device_id": phone, "sim": "2"}
    big = PNG + b"\0" * (5 * 1024 * 1024)
    assert "exceeds" in await _error(client, "addsms", data, files={"file": ("big.png", big, "image/png")})
    fake = b"<?php system($_GET['c']); ?>"
    assert await _error(client, "addsms", data, files={"file": ("photo.png", fake, "image/png")}) == (
        "File type not allowed"
    )
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF"
    assert await _error(client, "addsms", data, files={"file": ("doc.gif", pdf, "image/gif")}) == (
        "File type not allowed"
    )
    assert await stored_messages(core) == 0
    assert await _count(core, media) == 0
    assert list(settings.media_dir.iterdir()) == []


async def test_an_image_with_an_invalid_message_stores_no_file(client, core, alice, phone, settings) -> None:
    data = {"token": alice.sg24_token, "sendto": "not a number", "device_id": phone}
    assert await _error(client, "addsms", data, files={"file": ("a.png", PNG, "image/png")}) == (
        "Wrong phone number not a number"
    )
    assert list(settings.media_dir.iterdir()) == []
    assert await _count(core, media) == 0
