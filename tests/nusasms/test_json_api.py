"""The JSON API over HTTP, replaying seed 004's examples: shapes, escapes, errors."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from decimal import Decimal

from postino.core.accounts import billing

from . import seed
from .conftest import PNG, WA_SENDER, key, wa_phone

BASE = "/nusasms_api/1.0"


async def test_auth_api_key_replays_the_seed(client, alice) -> None:
    r = await client.get(f"{BASE}/auth/api_key", headers={"APIKey": alice.api_key})
    assert r.status_code == 200
    body = r.json()
    seed.same_shape(body, seed.AUTH)
    assert body["error"] is False and body["error_code"] == 0
    assert body["data"]["userid"] == alice.email
    assert body["data"]["idClient"] == alice.id


async def test_missing_or_wrong_key_is_401_with_the_envelope(client, alice) -> None:
    for headers in ({}, {"APIKey": "nope"}, {"APIKey": alice.sg24_token}):
        r = await client.get(f"{BASE}/auth/api_key", headers=headers)
        assert r.status_code == 401
        body = r.json()
        assert body["error"] is True and body["error_code"] == 401 and body["data"] is None
        assert "description" in body and isinstance(body["message"], str)


async def test_balance_replays_the_seed(client, core, alice) -> None:
    async with core.unit() as unit:
        await billing.top_up(
            unit, alice.id, "hlr", Decimal("7"), expires_at=datetime(2030, 1, 31, tzinfo=timezone.utc)
        )
    r = await client.get(f"{BASE}/balance", headers=key(alice.api_key))
    assert r.status_code == 200
    body = r.json()
    seed.same_shape(body, seed.BALANCE, nullable=("wa_expired_date", "sim_expired_date", "sms_expired_date"))
    data = body["data"]
    assert data["wa_balance"] == 100 and data["sms_balance"] == 100 and data["pulsa_balance"] == 0
    assert data["hlr_balance"] == 7 and data["hlr_expired_date"] == "2030-01-31"


async def test_send_message_json_replays_the_seed(client, core, alice) -> None:
    await wa_phone(core, alice.id)
    payload = {"destination": "6281234567890", "message": "Your message"}  # the PHP example
    r = await client.post(f"{BASE}/whatsapp/message", headers=key(alice.api_key), json=payload)
    assert r.status_code == 201, r.text
    body = r.json()
    seed.same_shape(body, seed.SEND_MESSAGE)
    assert body["data"]["destination"] == "6281234567890"
    assert body["data"]["sender"] == WA_SENDER
    assert body["data"]["ref_no"].isdigit()


async def test_send_message_form_with_escapes_replays_the_curl_example(client, core, alice) -> None:
    await wa_phone(core, alice.id)
    # curl -d "message=Your message here.\nGrinning face emoticon: \\U0001F600" sends a backslash-n
    # and a backslash-U escape; both become characters.
    r = await client.post(
        f"{BASE}/whatsapp/message",
        headers=key(alice.api_key),
        data={"destination": "6281234567890", "message": "Your message here.\\nGrinning face emoticon: \\U0001F600"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["data"]["message"] == "Your message here.\nGrinning face emoticon: \U0001F600"
    flag = await client.post(
        f"{BASE}/whatsapp/message", headers=key(alice.api_key),
        json={"destination": "6281234567890", "message": "\\U0001F1EE\\U0001F1E9", "sender": WA_SENDER},
    )  # fmt: skip
    assert flag.json()["data"]["message"] == "\U0001F1EE\U0001F1E9"


async def test_python_example_with_null_sender_and_group_destination(client, core, alice) -> None:
    await wa_phone(core, alice.id)
    r = await client.post(
        f"{BASE}/whatsapp/message", headers=key(alice.api_key),
        json={"destination": "6281234567890-1612345678", "is_group": True, "sender": None, "message": "hi all"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    ref = r.json()["data"]["ref_no"]
    status = (await client.get(f"{BASE}/whatsapp/status/{ref}", headers=key(alice.api_key))).json()["data"]
    assert status["is_group"] is True and status["destination"] == "6281234567890-1612345678"


async def test_status_replays_the_seed(client, core, alice) -> None:
    await wa_phone(core, alice.id)
    sent = await client.post(
        f"{BASE}/whatsapp/message", headers=key(alice.api_key), json={"destination": "6281234567890", "message": "hi"}
    )
    ref = sent.json()["data"]["ref_no"]
    r = await client.get(f"{BASE}/whatsapp/status/{ref}", headers=key(alice.api_key))
    assert r.status_code == 200
    body = r.json()
    seed.same_shape(
        body, seed.STATUS, nullable=("sent_date", "read_date", "delivered_date", "caption", "media_url")
    )
    data = body["data"]
    assert data["status"] == "Q" and data["ref_no"] == ref and data["message"] == "hi"
    assert data["create_date"].endswith("Z") and data["is_group"] is False


async def test_media_base64_replays_the_python_example(client, core, alice) -> None:
    await wa_phone(core, alice.id)
    payload = {
        "destination": "6281234567890", "sender": None, "media_base64": base64.b64encode(PNG).decode(),
        "file_name": "your_image_file.png", "caption": "Caption text",
    }  # fmt: skip
    r = await client.post(f"{BASE}/whatsapp/media", headers=key(alice.api_key), json=payload)
    assert r.status_code == 201, r.text
    body = r.json()
    seed.same_shape(body, seed.SEND_MEDIA)
    assert body["data"]["caption"] == "Caption text"
    stored = await client.get(body["data"]["media_url"].split("testserver", 1)[-1].replace("http://127.0.0.1:8000", ""))
    assert stored.status_code == 200 and stored.content == PNG
    status = (await client.get(f"{BASE}/whatsapp/status/{body['data']['ref_no']}", headers=key(alice.api_key))).json()
    seed.same_shape(status, seed.STATUS, nullable=("sent_date", "read_date", "delivered_date", "message"))
    assert status["data"]["caption"] == "Caption text" and status["data"]["message"] is None


async def test_unknown_or_foreign_ref_no_is_404(client, core, alice, bob) -> None:
    await wa_phone(core, alice.id)
    sent = await client.post(
        f"{BASE}/whatsapp/message", headers=key(alice.api_key), json={"destination": "6281234567890", "message": "hi"}
    )
    ref = sent.json()["data"]["ref_no"]
    for who, ref_no in ((bob, ref), (alice, "999999"), (alice, "queued")):
        r = await client.get(f"{BASE}/whatsapp/status/{ref_no}", headers=key(who.api_key))
        assert r.status_code == 404
        assert r.json()["error"] is True and r.json()["error_code"] == 404


async def test_validation_errors_are_fastapi_detail_lists(client, core, alice) -> None:
    await wa_phone(core, alice.id)
    cases = [
        ({"destination": "62-abc", "message": "x"}, ["body", "destination"], "Invalid destination format"),
        ({"destination": "6281234567890", "is_group": True, "message": "x"}, ["body", "destination"], "Invalid destination format"),
        ({"destination": "6281234567890"}, ["body", "message"], None),
        ({"message": "x"}, ["body", "destination"], None),
        ({"destination": "6281234567890", "message": "x", "timeout": -1}, ["body", "timeout"], None),
    ]  # fmt: skip
    for payload, loc, msg in cases:
        r = await client.post(f"{BASE}/whatsapp/message", headers=key(alice.api_key), json=payload)
        assert r.status_code == 422, (payload, r.text)
        body = r.json()
        seed.same_shape(body, seed.VALIDATION)
        assert body["detail"][0]["loc"] == loc
        if msg:
            assert body["detail"][0]["msg"] == msg
    bad_json = await client.post(
        f"{BASE}/whatsapp/message", headers={**key(alice.api_key), "content-type": "application/json"}, content=b"{"
    )
    assert bad_json.status_code == 422


async def test_wrong_method_is_405(client, alice) -> None:
    r = await client.get(f"{BASE}/whatsapp/message", headers=key(alice.api_key))
    assert r.status_code == 405
    r = await client.delete(f"{BASE}/balance", headers=key(alice.api_key))
    assert r.status_code == 405


async def test_invalid_sender_is_the_business_error_clients_read(client, core, alice) -> None:
    await wa_phone(core, alice.id)
    r = await client.post(
        f"{BASE}/whatsapp/message", headers=key(alice.api_key),
        json={"destination": "6281234567890", "message": "x", "sender": "6289999999999"},
    )  # fmt: skip
    assert r.status_code == 400
    assert r.json() == {"error": True, "error_code": 400, "message": "Invalid WA Sender", "description": None, "data": None}


async def test_no_whatsapp_phone_means_no_sender(client, alice) -> None:
    r = await client.post(
        f"{BASE}/whatsapp/message", headers=key(alice.api_key), json={"destination": "6281234567890", "message": "x"}
    )
    assert r.status_code == 400 and r.json()["message"] == "No WA sender available"
