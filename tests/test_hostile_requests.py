"""What a hostile or careless client sends, answered in each API's own words, never a 500.

Each case is a request that once reached the database, the JSON parser or a handler
unchecked; the answer must be the dialect's own refusal and nothing may be stored.
"""

from __future__ import annotations

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from postino.db.tables import campaigns, contacts, messages, webhooks

from .messaggisms.conftest import add_phone, bearer
from .sg24.conftest import register_phone

HUGE = "9223372036854775808"  # 2**63: one past the largest 64-bit id
NEG_HUGE = "-9223372036854775809"
DEEP = "[" * 10000 + "]" * 10000


@pytest_asyncio.fixture
async def phone(core, alice) -> int:  # noqa: ANN001
    return await register_phone(core, alice.id)


async def count(core, table) -> int:  # noqa: ANN001
    async with core.reader() as unit:
        return int(await unit.conn.scalar(select(func.count()).select_from(table)))


# --- 1. integers beyond 64 bits -------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "fields", "message"),
    [
        ("addsms", {"sendto": "3491234567", "body": "x", "device_id": HUGE}, "Device not found"),
        ("addsms", {"sendto": "3491234567", "body": "x", "device_id": NEG_HUGE}, "Device not found"),
        ("getsmsstatus", {"sms_id": HUGE}, "Sms not found"),
        ("getdevicestatus", {"device_id": NEG_HUGE}, "Device not found"),
        ("savecontact", {"phone": "3491234567", "fullname": "A", "ctag_id": "1111111111111111111111111"}, "Tag not found"),
        ("getallsms", {"sim": str(10**30)}, "Wrong sim value (0-5)"),
        ("getallsms", {"sim": "-2432902008176639999"}, "Wrong sim value (0-5)"),
        ("getallsms", {"sim": "6"}, "Wrong sim value (0-5)"),
        ("smstosend", {"sendto": "3491234567", "body": "x", "device_id": HUGE}, "Device not found"),
        ("savepaket", {"title": "t", "body": "b", "tags": HUGE, "device_id": "1"}, None),
    ],
)
async def test_sg24_ids_past_64_bits_are_not_found(client, core, alice, phone, method, fields, message) -> None:  # noqa: ANN001
    fields = {"token": alice.sg24_token, **fields}
    if method == "savepaket":
        fields["device_id"] = str(phone)
    answer = await client.get(f"/getdata/{method}", params=fields)
    assert answer.status_code == 200
    body = answer.json()
    assert body["error"] == 1
    if message:
        assert body["message"] == message
    assert await count(core, messages) == 0
    assert await count(core, campaigns) == 0


async def test_messaggisms_page_past_64_bits(client, alice) -> None:  # noqa: ANN001
    answer = await client.get("/messages/", params={"page": "1111111111111111111111111"}, headers=bearer(alice.bearer_token))
    assert answer.status_code == 422
    body = answer.json()
    assert body["success"] is False and body["data"] is None and body["error"] == 303


@pytest.mark.parametrize(("verb", "path"), [("PATCH", f"/api/v1/devices/{HUGE}"), ("GET", f"/api/v1/webhooks/{HUGE}/deliveries")])
async def test_native_ids_past_64_bits_are_not_found(client, alice, verb, path) -> None:  # noqa: ANN001
    answer = await client.request(verb, path, json={}, headers=bearer(alice.bearer_token))
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


async def test_native_delete_of_an_id_past_64_bits(client, alice) -> None:  # noqa: ANN001
    answer = await client.delete(f"/api/v1/webhooks/{HUGE}", headers=bearer(alice.bearer_token))
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


async def test_phone_report_of_an_id_past_64_bits_is_ignored(client, alice) -> None:  # noqa: ANN001
    from .device_api.helpers import API, register

    reg = await register(client, alice.device_registration_token)
    report = [{"id": HUGE, "state": "Sent", "recipients": [{"phoneNumber": "+393491234567", "state": "Sent"}]}]
    answer = await client.patch(f"{API}/message", json=report, headers=bearer(reg["token"]))
    assert answer.status_code == 204


# --- 2. JSON nested 10,000 deep -------------------------------------------------------


async def test_messaggisms_deep_json(client, core, alice) -> None:  # noqa: ANN001
    await add_phone(core, alice.id)
    h = {**bearer(alice.bearer_token), "content-type": "application/json"}
    sent = await client.post("/messages/", json={"sender": "alberto", "body": "hi", "recipients": "+39-3491234567"}, headers=h)
    assert sent.status_code == 201
    for verb, path in [("POST", "/messages/"), ("PUT", f"/messages/{sent.json()['data'][0]['id']}/")]:
        answer = await client.request(verb, path, content=DEEP, headers=h)
        assert answer.status_code == 400, (verb, answer.text)
        assert answer.json()["success"] is False and answer.json()["error"] == 300
    assert await count(core, messages) == 1


async def test_messaggisms_tokens_deep_json(client, alice) -> None:  # noqa: ANN001
    answer = await client.post("/tokens/", content=DEEP, auth=(alice.email, alice.password), headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["success"] is False


@pytest.mark.parametrize("route", ["whatsapp/message", "whatsapp/media", "wa_phone_check"])
async def test_nusasms_json_api_deep_json(client, alice, route) -> None:  # noqa: ANN001
    answer = await client.post(
        f"/nusasms_api/1.0/{route}", content=DEEP, headers={"APIKey": alice.api_key, "content-type": "application/json"}
    )
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert detail[0]["type"] == "json_invalid"


@pytest.mark.parametrize("path", ["/api/v3/sendsms/plain", "/api/v3/sendsms/group", "/api/command"])
async def test_nusasms_v3_deep_json(client, path) -> None:  # noqa: ANN001
    answer = await client.post(path, content=DEEP, headers={"content-type": "application/json"})
    assert answer.status_code == 200
    assert "<status>-22</status>" in answer.text


async def test_phone_api_deep_json(client, alice) -> None:  # noqa: ANN001
    from .device_api.helpers import API, register

    reg = await register(client, alice.device_registration_token)
    answer = await client.patch(f"{API}/message", content=DEEP, headers={**bearer(reg["token"]), "content-type": "application/json"})
    assert answer.status_code == 400
    assert set(answer.json()) == {"message"}


@pytest.mark.parametrize("path", ["/api/v1/webhooks", "/api/v1/messages"])
async def test_native_api_deep_json(client, core, alice, path) -> None:  # noqa: ANN001
    h = {**bearer(alice.bearer_token), "content-type": "application/json"}
    answer = await client.post(path, content=DEEP, headers=h)
    assert answer.status_code == 400
    assert answer.json() == {"error": {"code": "invalid_input", "message": "The request body nests too deep", "field": None}}
    assert await count(core, webhooks) == 0 and await count(core, messages) == 0


# --- 3. dates past year 9999 ----------------------------------------------------------


async def test_sg24_send_time_past_9999(client, core, alice, phone) -> None:  # noqa: ANN001
    answer = await client.get(
        "/getdata/addsms",
        params={"token": alice.sg24_token, "sendto": "3491234567", "body": "x", "device_id": phone,
                "timetosend": "9999-12-31 23:59:59", "timezone": "Pacific/Kiritimati"},
    )
    assert answer.json() == {"error": 1, "message": "Wrong timetosend format"}
    assert await count(core, messages) == 0


async def test_sg24_paket_time_past_9999(client, core, alice, phone) -> None:  # noqa: ANN001
    tag = (await client.get("/getdata/savetag", params={"token": alice.sg24_token, "title": "t"})).json()["tag_id"]
    answer = await client.get(
        "/getdata/savepaket",
        params={"token": alice.sg24_token, "title": "t", "body": "b", "tags": tag, "device_id": phone,
                "time_to_send": "31.12.9999 23:59:59"},
    )
    assert answer.json() == {"error": 1, "message": "Wrong time_to_send format"}
    assert await count(core, campaigns) == 0


# --- 4. invalid UTF-8 in a urlencoded body ---------------------------------------------


async def test_native_webhook_with_invalid_utf8(client, core, alice) -> None:  # noqa: ANN001
    answer = await client.post(
        "/api/v1/webhooks", content=b"url=\xff\xfe",
        headers={**bearer(alice.bearer_token), "content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_input"
    assert await count(core, webhooks) == 0


async def test_native_device_rename_with_invalid_utf8(client, core, alice) -> None:  # noqa: ANN001
    device = await add_phone(core, alice.id)
    answer = await client.patch(
        f"/api/v1/devices/{device.id}", content=b"name=\xff",
        headers={**bearer(alice.bearer_token), "content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_input"


# --- 5. a phone's report with a state that is no text ----------------------------------


async def test_phone_report_with_an_object_state(client, alice) -> None:  # noqa: ANN001
    from .device_api.helpers import API, register

    reg = await register(client, alice.device_registration_token)
    answer = await client.patch(
        f"{API}/message", json=[{"id": "1", "state": {"a": 1}, "recipients": []}], headers=bearer(reg["token"])
    )
    assert answer.status_code == 400
    assert set(answer.json()) == {"message"}


# --- 6. every answer in the dialect's format --------------------------------------------


async def test_native_validation_errors_use_the_documented_shape(client, alice) -> None:  # noqa: ANN001
    answer = await client.post("/api/v1/webhooks", json={"url": "https://example.com/x"}, headers=bearer(alice.bearer_token))
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_input" and error["field"] == "events" and isinstance(error["message"], str)


@pytest.mark.parametrize(("verb", "path"), [("PUT", "/getdata/addsms"), ("GET", "/getdata/..%2Fx"), ("DELETE", "/getdata/")])
async def test_sg24_wrong_method_or_path(client, verb, path) -> None:  # noqa: ANN001
    answer = await client.request(verb, path)
    assert answer.status_code == 404
    assert answer.json() == {"error": 1, "message": "Unknown method"}


@pytest.mark.parametrize(("verb", "path", "status"), [("PATCH", "/messages/", 405), ("GET", "/messages/a/b/c/d/", 404), ("PUT", "/tokens/", 405)])
async def test_messaggisms_wrong_method_or_path(client, verb, path, status) -> None:  # noqa: ANN001
    answer = await client.request(verb, path)
    assert answer.status_code == status
    body = answer.json()
    assert set(body) == {"data", "success", "message", "credit", "error"}
    assert body["success"] is False and body["error"] == status


@pytest.mark.parametrize(("verb", "path", "status"), [("DELETE", "/nusasms_api/1.0/balance", 405), ("GET", "/nusasms_api/1.0/nothing", 404)])
async def test_nusasms_wrong_method_or_path(client, verb, path, status) -> None:  # noqa: ANN001
    answer = await client.request(verb, path)
    assert answer.status_code == status
    body = answer.json()
    assert body["error"] is True and body["error_code"] == status and body["data"] is None


async def test_nusasms_v3_wrong_method(client) -> None:  # noqa: ANN001
    answer = await client.delete("/api/v3/sendsms/plain")
    assert answer.status_code == 405
    assert "<status>-22</status>" in answer.text


@pytest.mark.parametrize(("verb", "path", "status"), [("PUT", "/api/v1/webhooks", 405), ("GET", "/api/v1/nothing", 404)])
async def test_native_wrong_method_or_path(client, verb, path, status) -> None:  # noqa: ANN001
    answer = await client.request(verb, path)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] in {"not_found", "method_not_allowed"}


@pytest.mark.parametrize(("verb", "path", "status"), [("DELETE", "/api/mobile/v1/device", 405), ("GET", "/api/mobile/v1/nothing", 404)])
async def test_phone_api_wrong_method_or_path(client, verb, path, status) -> None:  # noqa: ANN001
    answer = await client.request(verb, path)
    assert answer.status_code == status
    assert set(answer.json()) == {"message"}


@pytest.mark.parametrize(
    ("path", "check"),
    [
        ("/getdata/addsms", lambda b: b == {"error": 1, "message": "Request body too large"}),
        ("/messages/", lambda b: b["success"] is False and b["error"] == 413),
        ("/nusasms_api/1.0/whatsapp/message", lambda b: b["error"] is True and b["error_code"] == 413),
        ("/api/v1/webhooks", lambda b: b["error"]["code"] == "too_large"),
        ("/api/mobile/v1/message", lambda b: set(b) == {"message"}),
        ("/3rdparty/v1/messages", lambda b: set(b) >= {"message"}),
    ],
)
async def test_a_body_over_the_cap_is_refused_in_each_apis_words(settings, core, path, check) -> None:  # noqa: ANN001
    from postino.app import create_app

    settings.max_body_bytes = 1024
    app = create_app(settings, core)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            answer = await c.post(path, content=b"x" * 2048, headers={"content-type": "application/json"})
    assert answer.status_code == 413
    assert check(answer.json())


# --- 10. what conformance checks and real clients found ---------------------------------


async def test_sg24_savecontact_takes_tag_id_as_the_sdks_send_it(client, core, alice) -> None:  # noqa: ANN001
    tag = (await client.get("/getdata/savetag", params={"token": alice.sg24_token, "title": "clients"})).json()["tag_id"]
    answer = await client.get(
        "/getdata/savecontact", params={"token": alice.sg24_token, "phone": "3491234567", "fullname": "Ada", "tag_id": tag}
    )
    assert answer.json()["error"] == 0
    assert await count(core, contacts) == 1
