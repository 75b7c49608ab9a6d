"""Every SmsGateway24 method as the documents show it: same requests, same fields and JSON types."""

from __future__ import annotations

import re

from postino.core.messages import lifecycle, queue

from . import seed
from .conftest import assert_seed_shape, register_phone, stored_messages


async def test_gettoken_answers_a_new_hex_token_and_old_tokens_stay_valid(client, alice) -> None:
    first = (await client.get("/getdata/gettoken", params={"email": alice.email, "pass": alice.password})).json()
    assert_seed_shape(first, seed.GETTOKEN_OK)
    assert first["error"] == 0 and first["message"] == "OK"
    assert re.fullmatch(r"[0-9a-f]{32}", first["token"])
    second = (await client.post("/getdata/gettoken", data={"email": alice.email, "pass": alice.password})).json()
    assert second["token"] != first["token"]
    for token in (first["token"], second["token"], alice.sg24_token):
        answer = (await client.get("/getdata/getalldevices", params={"token": token})).json()
        assert answer["error"] == 0


async def test_gettoken_wrong_login_is_the_documented_error(client, alice) -> None:
    for params in ({"email": alice.email, "pass": "wrong"}, {"email": "nobody@example.com", "pass": "x"}, {}):
        response = await client.get("/getdata/gettoken", params=params)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json() == seed.GETTOKEN_WRONG


async def test_addsms_answers_like_the_seed(client, core, alice, phone) -> None:
    response = await client.post(
        "/getdata/addsms",
        data={"token": alice.sg24_token, "sendto": "+4915752982212", "body": "Test message", "device_id": phone,
              "sim": 0, "timetosend": "2026-05-29 17:21:27", "customerid": 122, "urgent": 1},
    )
    assert response.status_code == 200
    answer = response.json()
    assert_seed_shape(answer, seed.ADDSMS_OK)
    assert answer["message"] == "Sms has been saved successfully"
    assert answer["sms_ids"] == [answer["sms_id"]]
    assert await stored_messages(core) == 1


async def test_smstosend_with_email_and_pass(client, core, alice, phone) -> None:
    answer = (
        await client.get(
            "/getdata/smstosend",
            params={"email": alice.email, "pass": alice.password, "sendto": "+393491234567", "body": "Ciao",
                    "device_id": phone, "sim": 1},
        )
    ).json()
    assert_seed_shape(answer, seed.ADDSMS_OK)
    status = (await client.get("/getdata/getsmsstatus", params={"token": alice.sg24_token, "sms_id": answer["sms_id"]})).json()
    assert status == {"error": 0, "message": "OK", "sms_id": answer["sms_id"], "status": 1, "status_description": "pending"}


async def test_smstosend_with_token_instead_of_login_or_besides_it(client, alice, phone) -> None:
    base = {"sendto": "+393491234567", "body": "Ciao", "device_id": phone}
    with_token = (await client.post("/getdata/smstosend", data={"token": alice.sg24_token, **base})).json()
    assert with_token["error"] == 0
    both = (
        await client.post(
            "/getdata/smstosend", data={"token": alice.sg24_token, "email": alice.email, "pass": alice.password, **base}
        )
    ).json()
    assert both["error"] == 0
    wrong_login = (await client.post("/getdata/smstosend", data={"email": alice.email, "pass": "nope", **base})).json()
    assert wrong_login == {"error": 1, "message": "Login or password incorrect"}
    wrong_token = (await client.post("/getdata/smstosend", data={"token": "f" * 32, **base})).json()
    assert wrong_token == {"error": 1, "message": "Token is wrong"}


async def test_addalotofsms_with_the_seed_datajson(client, core, bob) -> None:
    device = await register_phone(core, bob.id, sim_cards=[{"slotIndex": 0, "simNumber": 1}, {"slotIndex": 1, "simNumber": 2}])
    datajson = seed.DATAJSON_EXAMPLE % {"token": bob.sg24_token, "device": device}
    answer = (await client.post("/getdata/addalotofsms", data={"datajson": datajson})).json()
    assert answer["error"] == 0 and answer["message"] == "OK"
    assert len(answer["sms_ids"]) == 2 and all(isinstance(i, int) for i in answer["sms_ids"])
    listed = (await client.get("/getdata/getallsms", params={"token": bob.sg24_token})).json()
    first, second = (listed["smss"][str(i)] for i in answer["sms_ids"])
    assert (first["sendto"], first["body"], first["sim"], first["urgent"]) == ("015752982212", "Test message", 1, None)
    assert (second["sendto"], second["urgent"]) == ("+4915752982212", 1)
    # 2019-07-01 23:50:00 in the account's zone (Europe/Berlin) is in the past: it is sent now.
    assert first["timetosend"] == {"date": "2019-07-01 23:50:00.000000", "timezone_type": 3, "timezone": "Europe/Berlin"}
    assert first["status"] == 1


async def test_addalotofsms_with_the_seed_request_example_as_raw_json(client, core, bob) -> None:
    device = await register_phone(core, bob.id, sim_cards=[{"slotIndex": 0, "simNumber": 1}, {"slotIndex": 1, "simNumber": 2}])
    body = {**seed.BULK_REQUEST_EXAMPLE, "token": bob.sg24_token}
    body["smsdata"] = [{**item, "device_id": device} for item in body["smsdata"]]
    answer = (await client.post("/getdata/addalotofsms", json=body)).json()
    assert answer["error"] == 0, answer
    listed = (await client.get("/getdata/getallsms", params={"token": bob.sg24_token})).json()
    urgent, regular = (listed["smss"][str(i)] for i in answer["sms_ids"])
    assert (urgent["customerid"], urgent["urgent"], regular["urgent"]) == (122, 1, None)


async def test_getallsms_answers_like_the_seed(client, core, alice, phone) -> None:
    ids = []
    for _ in range(2):
        answer = (
            await client.get(
                "/getdata/addsms",
                params={"token": alice.sg24_token, "sendto": "+4912312312332", "body": "Hello! Thank you for Order! ",
                        "device_id": phone},
            )
        ).json()
        ids.append(answer["sms_id"])
    async with core.unit() as unit:
        await queue.claim_for_device(unit, phone)
        await lifecycle.move(unit, ids, lifecycle.TAKEN)
        await lifecycle.move(unit, [ids[1]], lifecycle.DELIVERED)
    answer = (await client.get("/getdata/getallsms", params={"token": alice.sg24_token, "timezone": "Europe/Paris"})).json()
    assert_seed_shape(answer, seed.GETALLSMS_OK)
    assert list(answer["smss"]) == [str(i) for i in ids]
    sending, delivered = answer["smss"][str(ids[0])], answer["smss"][str(ids[1])]
    assert (sending["status"], sending["statustitle"]) == (2, "sending")
    assert (delivered["status"], delivered["statustitle"]) == (7, "delivered")
    assert sending["sendto"] == "+4912312312332" and sending["body"] == "Hello! Thank you for Order! "
    assert sending["deviceid"] == phone and sending["sim"] == 0
    assert sending["customerid"] is None and sending["urgent"] is None
    assert sending["senttime"] is None and sending["timetosend"] is None
    assert sending["paketid"] is None and sending["pakettitle"] is None and sending["paketbody"] is None
    created = sending["created"]
    assert set(created) == {"date", "timezone_type", "timezone"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", created["date"])
    assert created["timezone_type"] == 3 and created["timezone"] == "Europe/Paris"
    assert delivered["senttime"] is None  # delivered without a separate "sent" report


async def test_savetag_and_savecontact_answer_like_the_seed(client, alice) -> None:
    tag = (await client.get("/getdata/savetag", params={"token": alice.sg24_token, "title": "Employees"})).json()
    assert_seed_shape(tag, seed.SAVETAG_OK)
    assert tag["message"] == "OK"
    contact = (
        await client.get(
            "/getdata/savecontact",
            params={"token": alice.sg24_token, "phone": "+393491234567", "ctag_id": tag["tag_id"], "fullname": "Anna"},
        )
    ).json()
    assert_seed_shape(contact, seed.SAVECONTACT_OK)
    assert contact["message"] == "ok"


async def test_savepaket_answers_paket_id_and_paket(client, alice, phone) -> None:
    tag = (await client.post("/getdata/savetag", data={"token": alice.sg24_token, "title": "Clients"})).json()
    await client.post(
        "/getdata/savecontact",
        data={"token": alice.sg24_token, "phone": "+393491234567", "ctag_id": tag["tag_id"], "fullname": "Anna"},
    )
    answer = (
        await client.post(
            "/getdata/savepaket",
            data={"token": alice.sg24_token, "title": "Sale", "device_id": phone, "body": "-20% today",
                  "tags": str(tag["tag_id"]), "sim": 0, "time_to_send": "29.05.2030 17:21:27"},
        )
    ).json()
    assert_seed_shape(answer, seed.SAVEPAKET_OK)
    assert answer["message"] == "OK"
    assert answer["paket"] == answer["paket_id"]
    assert answer["contacts"] == 1


async def test_getalldevices_answers_like_the_seed(client, core, alice) -> None:
    first = await register_phone(
        core, alice.id, name="AOSP_on_IA_Emulator",
        sim_cards=[{"slotIndex": 0, "simNumber": 1, "iccid": "89014103211118510720", "phoneNumber": "+15555215554",
                    "carrierName": "Android (T-Mobile)", "countryIso": "us", "roaming": False}],
    )
    second = await register_phone(core, alice.id, name="Android_SDK_built_for_x86", sim_cards=[])
    answer = (await client.get("/getdata/getalldevices", params={"token": alice.sg24_token})).json()
    assert_seed_shape(answer, seed.GETALLDEVICES_OK, nullable=("number",))
    assert answer["count"] == 2 and list(answer["device"]) == [str(first), str(second)]
    assert all(isinstance(record["online"], bool) for record in answer["device"].values())
    record = answer["device"][str(first)]
    assert record["title"] == "AOSP_on_IA_Emulator"
    assert record["siminfo"] == [
        {"Slot": "0", "IccId": "89014103211118510720", "Number": "+15555215554", "Roaming": "0", "CountryIso": "us",
         "CarrierName": "Android (T-Mobile)"}
    ]
    assert record["created"]["timezone"] == "UTC"
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d", record["createdhumanformat"])
    assert record["online"] is True  # registered just now
    assert answer["device"][str(second)]["siminfo"] == []


async def test_getsmsstatus_answers_like_the_seed(client, core, alice, phone) -> None:
    sms_id = (
        await client.get(
            "/getdata/addsms", params={"token": alice.sg24_token, "sendto": "+393491234567", "body": "x", "device_id": phone}
        )
    ).json()["sms_id"]
    async with core.unit() as unit:
        await lifecycle.move(unit, [sms_id], lifecycle.DELIVERED)
    answer = (await client.post("/getdata/getsmsstatus", data={"token": alice.sg24_token, "sms_id": sms_id})).json()
    assert_seed_shape(answer, seed.GETSMSSTATUS_OK)
    assert answer == {"error": 0, "message": "OK", "sms_id": sms_id, "status": 7, "status_description": "delivered"}


async def test_getdevicestatus(client, alice, phone) -> None:
    answer = (await client.get("/getdata/getdevicestatus", params={"token": alice.sg24_token, "device_id": phone})).json()
    assert_seed_shape(answer, seed.GETDEVICESTATUS_OK)
    assert answer["device_id"] == phone and answer["title"] == "Pixel 7"
    assert answer["online"] is True
    assert answer["lastseen"]["timezone"] == "UTC"
    assert 0 <= answer["diffseconds"] < 60
