"""The SMS Gate API in process: shapes, statuses, errors, scopes, cancel, tenant isolation."""

from __future__ import annotations

import datetime as dt

import pytest

from .helpers import BASE, BASES, basic, bearer, phone, pull, report


@pytest.fixture
def alice_auth(alice) -> dict[str, str]:  # noqa: ANN001
    return basic(alice.email, alice.password)


@pytest.fixture
def bob_auth(bob) -> dict[str, str]:  # noqa: ANN001
    return basic(bob.email, bob.password)


def _parse(value: str) -> dt.datetime:
    """As Python 3.9's ``fromisoformat`` reads it, after the client's ``Z`` replacement."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_health_needs_no_auth_and_answers_pass(client) -> None:  # noqa: ANN001
    for base in BASES:
        for suffix in ("", "/live", "/ready", "/startup"):
            response = await client.get(f"{base}/health{suffix}")
            assert response.status_code == 200
            body = response.json()
            assert body["status"] == "pass" and body["checks"]["db:ping"]["status"] == "pass"
            assert isinstance(body["version"], str) and isinstance(body["releaseId"], int)
    assert (await client.get("/health")).json()["status"] == "ok"  # Postino's own stays as it was


async def test_send_answers_202_with_location_and_the_message_state(client, core, alice, alice_auth) -> None:  # noqa: ANN001
    device, _ = await phone(core, alice.id)
    for base in BASES:
        response = await client.post(
            f"{base}/messages",
            headers=alice_auth,
            json={"textMessage": {"text": "hello"}, "phoneNumbers": ["+393491234567", "+393491234568"], "priority": 0},
        )
        assert response.status_code == 202, response.text
        state = response.json()
        assert response.headers["location"] == f"{base}/messages/{state['id']}"
        assert state["deviceId"] == device.ext_id
        assert state["state"] == "Pending" and state["isHashed"] is False and state["isEncrypted"] is False
        assert state["recipients"] == [
            {"phoneNumber": "+393491234567", "state": "Pending"},
            {"phoneNumber": "+393491234568", "state": "Pending"},
        ]
        assert list(state["states"]) == ["Pending"]
        _parse(state["states"]["Pending"])
        _parse(state["createdAt"])
        got = await client.get(f"{base}/messages/{state['id']}", headers=alice_auth)
        assert got.status_code == 200 and got.json()["id"] == state["id"]
        assert got.json()["textMessage"] == {"text": "hello"}


async def test_singular_paths_answer_like_plural_ones(client, core, alice, alice_auth) -> None:  # noqa: ANN001
    await phone(core, alice.id)
    sent = await client.post(
        f"{BASE}/message", headers=alice_auth, json={"id": "npm-1", "message": "hi", "phoneNumbers": ["+393491234567"]}
    )
    assert sent.status_code == 202, sent.text
    assert sent.json()["id"] == "npm-1"
    plural = await client.get(f"{BASE}/messages/npm-1", headers=alice_auth)
    singular = await client.get(f"{BASE}/message/npm-1", headers=alice_auth)
    assert singular.status_code == plural.status_code == 200
    assert singular.json() == plural.json()
    listed = await client.get(f"{BASE}/message", headers=alice_auth)
    assert listed.json() == (await client.get(f"{BASE}/messages", headers=alice_auth)).json()
    assert (await client.get(f"{BASE}/device", headers=alice_auth)).json() == (
        await client.get(f"{BASE}/devices", headers=alice_auth)
    ).json()


async def test_validation_errors_are_400_message(client, core, alice, alice_auth) -> None:  # noqa: ANN001
    await phone(core, alice.id)
    cases = [
        {"phoneNumbers": ["+393491234567"]},
        {"textMessage": {"text": "x"}, "message": "y", "phoneNumbers": ["+393491234567"]},
        {"textMessage": {"text": "x"}, "phoneNumbers": []},
        {"textMessage": {"text": "x"}, "phoneNumbers": ["+393491234567", "+393491234567"]},
        {"textMessage": {"text": "x"}, "phoneNumbers": ["not a number"]},
        {"textMessage": {"text": "x"}, "phoneNumbers": ["+393491234567"], "simNumber": 4},
        {"textMessage": {"text": "x"}, "phoneNumbers": ["+393491234567"], "ttl": 60, "validUntil": "2099-01-01T00:00:00Z"},
        {"textMessage": {"text": "x"}, "phoneNumbers": ["+393491234567"], "id": "x" * 37},
        {"textMessage": {"text": "x"}, "phoneNumbers": ["+393491234567"], "deviceId": "nope"},
    ]
    for body in cases:
        response = await client.post(f"{BASE}/messages", headers=alice_auth, json=body)
        assert response.status_code == 400, (body, response.text)
        assert set(response.json()) == {"message"} and response.json()["message"]
        assert response.headers["content-type"].startswith("application/json")
    bad_json = await client.post(f"{BASE}/messages", headers=alice_auth, content=b"{nope")
    assert bad_json.status_code == 400 and "message" in bad_json.json()


async def test_an_existing_id_is_409_and_without_a_phone_400(client, core, alice, alice_auth) -> None:  # noqa: ANN001
    body = {"id": "same", "textMessage": {"text": "x"}, "phoneNumbers": ["+393491234567"]}
    assert (await client.post(f"{BASE}/messages", headers=alice_auth, json=body)).status_code == 400
    await phone(core, alice.id)
    assert (await client.post(f"{BASE}/messages", headers=alice_auth, json=body)).status_code == 202
    again = await client.post(f"{BASE}/messages", headers=alice_auth, json=body)
    assert again.status_code == 409 and "message" in again.json()


async def test_unknown_paths_verbs_and_auth_answer_message(client, alice_auth) -> None:  # noqa: ANN001
    assert (await client.get(f"{BASE}/nothing-here", headers=alice_auth)).json().keys() == {"message"}
    wrong_verb = await client.put(f"{BASE}/messages", headers=alice_auth)
    assert wrong_verb.status_code == 405 and "message" in wrong_verb.json()
    for headers in ({}, basic("alice@example.com", "wrong"), bearer("not-a-jwt"), bearer("a.b.c")):
        response = await client.get(f"{BASE}/messages", headers=headers)
        assert response.status_code == 401 and "message" in response.json()


async def test_list_filters_pages_and_counts(client, core, alice, alice_auth) -> None:  # noqa: ANN001
    device, token = await phone(core, alice.id)
    ids = []
    for n in range(3):
        r = await client.post(
            f"{BASE}/messages", headers=alice_auth, json={"id": f"m{n}", "textMessage": {"text": f"t{n}"}, "phoneNumbers": ["+393491234567"]}
        )
        ids.append(r.json()["id"])
    handed = await pull(client, token)
    taken = [m["id"] for m in handed if m["message"] == "t0"]
    await report(client, token, taken, "Processed")
    listed = await client.get(f"{BASE}/messages", headers=alice_auth)
    assert listed.status_code == 200 and listed.headers["x-total-count"] == "3"
    assert [m["id"] for m in listed.json()] == ["m2", "m1", "m0"]
    assert "textMessage" not in listed.json()[0]
    oldest_first = await client.get(f"{BASE}/messages", headers=alice_auth, params={"sort": "created_at", "limit": 2})
    assert [m["id"] for m in oldest_first.json()] == ["m0", "m1"] and oldest_first.headers["x-total-count"] == "3"
    paged = await client.get(f"{BASE}/messages", headers=alice_auth, params={"limit": 1, "offset": 1, "includeContent": "true"})
    assert [m["id"] for m in paged.json()] == ["m1"] and paged.json()[0]["textMessage"] == {"text": "t1"}
    processed = await client.get(f"{BASE}/messages", headers=alice_auth, params={"state": "Processed"})
    assert [m["id"] for m in processed.json()] == ["m0"] and processed.headers["x-total-count"] == "1"
    pending = await client.get(f"{BASE}/messages", headers=alice_auth, params={"state": "Pending", "deviceId": device.ext_id})
    assert [m["id"] for m in pending.json()] == ["m2", "m1"]
    future = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).isoformat()
    none = await client.get(f"{BASE}/messages", headers=alice_auth, params={"from": future})
    assert none.json() == [] and none.headers["x-total-count"] == "0"
    assert (await client.get(f"{BASE}/messages", headers=alice_auth, params={"limit": 101})).status_code == 400


async def test_cancel_pending_never_reaches_the_phone_and_processed_is_409(client, core, alice, alice_auth) -> None:  # noqa: ANN001
    _device, token = await phone(core, alice.id)
    sent = await client.post(
        f"{BASE}/messages", headers=alice_auth, json={"id": "c1", "textMessage": {"text": "cancel me"}, "phoneNumbers": ["+393491234567"]}
    )
    assert sent.status_code == 202
    cancelled = await client.delete(f"{BASE}/messages/c1", headers=alice_auth)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] in ("Cancelling", "Cancelled")
    assert cancelled.json()["recipients"][0]["state"] == "Cancelled"
    assert await pull(client, token) == []
    listed = await client.get(f"{BASE}/messages", headers=alice_auth, params={"state": "Cancelled"})
    assert [m["id"] for m in listed.json()] == ["c1"]

    await client.post(
        f"{BASE}/messages", headers=alice_auth, json={"id": "c2", "textMessage": {"text": "too late"}, "phoneNumbers": ["+393491234567"]}
    )
    (handed,) = await pull(client, token)
    await report(client, token, [handed["id"]], "Processed")
    late = await client.delete(f"{BASE}/messages/c2", headers=alice_auth)
    assert late.status_code == 409 and "message" in late.json()
    assert (await client.get(f"{BASE}/messages/c2", headers=alice_auth)).json()["state"] == "Processed"


async def test_account_b_sees_none_of_account_a(client, core, alice, alice_auth, bob_auth) -> None:  # noqa: ANN001
    device, _ = await phone(core, alice.id)
    await client.post(f"{BASE}/messages", headers=alice_auth, json={"id": "mine", "textMessage": {"text": "x"}, "phoneNumbers": ["+393491234567"]})
    hook = await client.post(f"{BASE}/webhooks", headers=alice_auth, json={"id": "hook-a", "url": "https://example.com/h", "event": "sms:sent"})
    assert hook.status_code == 201, hook.text
    assert (await client.get(f"{BASE}/messages/mine", headers=bob_auth)).status_code == 404
    assert (await client.delete(f"{BASE}/messages/mine", headers=bob_auth)).status_code == 404
    assert (await client.delete(f"{BASE}/devices/{device.ext_id}", headers=bob_auth)).status_code == 404
    assert (await client.delete(f"{BASE}/webhooks/hook-a", headers=bob_auth)).status_code == 404
    assert (await client.get(f"{BASE}/messages", headers=bob_auth)).json() == []
    assert (await client.get(f"{BASE}/devices", headers=bob_auth)).json() == []
    assert (await client.get(f"{BASE}/webhooks", headers=bob_auth)).json() == []
    sent = await client.post(
        f"{BASE}/messages", headers=bob_auth,
        json={"textMessage": {"text": "x"}, "phoneNumbers": ["+393491234567"], "deviceId": device.ext_id},
    )
    assert sent.status_code == 400
    # Both accounts may use the same message id.
    await phone(core, (await _account_id(core, "bob@example.com")))
    same = await client.post(f"{BASE}/messages", headers=bob_auth, json={"id": "mine", "textMessage": {"text": "y"}, "phoneNumbers": ["+491575298221"]})
    assert same.status_code == 202, same.text
    assert (await client.get(f"{BASE}/messages/mine", headers=alice_auth)).json()["textMessage"] == {"text": "x"}


async def _account_id(core, email: str) -> int:  # noqa: ANN001
    from postino.core.accounts import accounts

    async with core.reader() as unit:
        return (await accounts.find_by_email(unit, email)).id


async def test_devices_list_and_delete(client, core, alice, alice_auth) -> None:  # noqa: ANN001
    device, _ = await phone(core, alice.id)
    listed = (await client.get(f"{BASE}/devices", headers=alice_auth)).json()
    assert [d["id"] for d in listed] == [device.ext_id]
    assert listed[0]["name"] == "pixel" and listed[0]["simCards"][1] == {"slotIndex": 1, "simNumber": 2}
    for key in ("createdAt", "updatedAt", "lastSeen"):
        _parse(listed[0][key])
    assert (await client.delete(f"{BASE}/devices/{device.ext_id}", headers=alice_auth)).status_code == 204
    assert (await client.get(f"{BASE}/devices", headers=alice_auth)).json() == []
    assert (await client.delete(f"{BASE}/devices/{device.ext_id}", headers=alice_auth)).status_code == 404


async def test_tokens_scopes_refresh_and_revoke(client, core, alice, alice_auth) -> None:  # noqa: ANN001
    await phone(core, alice.id)
    issued = await client.post(f"{BASE}/auth/token", headers=alice_auth, json={"scopes": ["messages:list", "made:up"], "ttl": 600})
    assert issued.status_code == 201, issued.text
    pair = issued.json()
    for snake, camel in (("access_token", "accessToken"), ("refresh_token", "refreshToken"), ("expires_at", "expiresAt"), ("token_type", "tokenType")):
        assert pair[snake] == pair[camel]
    assert pair["tokenType"] == "Bearer"
    access = bearer(pair["accessToken"])
    assert (await client.get(f"{BASE}/messages", headers=access)).status_code == 200
    refused = await client.post(f"{BASE}/messages", headers=access, json={"textMessage": {"text": "x"}, "phoneNumbers": ["+393491234567"]})
    assert refused.status_code == 403 and refused.json() == {"message": "scope required: messages:send"}
    assert (await client.get(f"{BASE}/devices", headers=access)).json() == {"message": "scope required: devices:list"}
    assert (await client.post(f"{BASE}/auth/token", headers=access, json={"scopes": ["messages:list"]})).status_code == 403

    renewed = await client.post(f"{BASE}/auth/token/refresh", headers=bearer(pair["refreshToken"]))
    assert renewed.status_code == 201, renewed.text
    new = renewed.json()
    assert new["id"] != pair["id"]
    assert (await client.get(f"{BASE}/messages", headers=access)).status_code == 401  # the old pair is revoked
    assert (await client.post(f"{BASE}/auth/token/refresh", headers=bearer(pair["refreshToken"]))).status_code == 401
    assert (await client.get(f"{BASE}/messages", headers=access)).status_code == 401
    assert (await client.post(f"{BASE}/auth/token/refresh", headers=bearer(new["accessToken"]))).status_code == 401
    new_access = bearer(new["accessToken"])
    assert (await client.get(f"{BASE}/messages", headers=new_access)).status_code == 200

    assert (await client.delete(f"{BASE}/auth/token/{new['id']}", headers=alice_auth)).status_code == 204
    assert (await client.get(f"{BASE}/messages", headers=new_access)).status_code == 401
    assert (await client.delete(f"{BASE}/auth/token/{new['id']}", headers=alice_auth)).status_code == 404


async def test_tokens_of_b_cannot_be_revoked_by_a(client, alice_auth, bob_auth) -> None:  # noqa: ANN001
    pair = (await client.post(f"{BASE}/auth/token", headers=bob_auth, json={"scopes": ["messages:list"]})).json()
    assert (await client.delete(f"{BASE}/auth/token/{pair['id']}", headers=alice_auth)).status_code == 404
    assert (await client.get(f"{BASE}/messages", headers=bearer(pair["accessToken"]))).status_code == 200


async def test_settings_reach_the_phone(client, core, alice, alice_auth) -> None:  # noqa: ANN001
    device, token = await phone(core, alice.id)
    events = core.notifier.subscribe(("device", device.id))
    current = (await client.get(f"{BASE}/settings", headers=alice_auth)).json()
    assert current["messages"]["send_interval_min"] == 0 and current["ping"] == {"interval_seconds": None}
    patched = await client.patch(
        f"{BASE}/settings", headers=alice_auth,
        json={"messages": {"send_interval_min": 5, "send_interval_max": 9, "limit_period": "PerHour", "limit_value": 50}, "ping": {"interval_seconds": 30}},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["messages"]["send_interval_min"] == 5 and body["messages"]["send_interval_max"] == 9
    assert body["messages"]["limit_period"] == "PerHour" and body["ping"]["interval_seconds"] == 30
    assert events.get_nowait()[0] == "SettingsUpdated"
    seen = (await client.get("/api/mobile/v1/settings", headers=bearer(token))).json()
    assert seen["messages"]["send_interval_min"] == 5 and seen["messages"]["send_interval_max"] == 9
    assert seen["messages"]["limit_period"] == "PerHour" and seen["ping"]["interval_seconds"] == 30
    # The same setting SmsGateway24 shows as delaybetweeneachsms.
    from postino.core.devices import devices

    async with core.reader() as unit:
        stored = await devices.get(unit, alice.id, device.id)
    assert (stored.delay_between_sms, stored.delay_between_request) == (5, 30)
    merged = (await client.patch(f"{BASE}/settings", headers=alice_auth, json={"messages": {"limit_value": 60}})).json()
    assert merged["messages"]["send_interval_min"] == 5 and merged["messages"]["limit_value"] == 60
    replaced = (await client.put(f"{BASE}/settings", headers=alice_auth, json={"ping": {"interval_seconds": 10}})).json()
    assert replaced["messages"]["send_interval_min"] == 0 and replaced["messages"]["limit_period"] == "Disabled"
    assert replaced["ping"]["interval_seconds"] == 10
    bad = await client.patch(f"{BASE}/settings", headers=alice_auth, json={"messages": {"limit_period": "Weekly"}})
    assert bad.status_code == 400


async def test_webhooks_create_replace_list_delete(client, core, alice, alice_auth) -> None:  # noqa: ANN001
    device, _ = await phone(core, alice.id)
    created = await client.post(f"{BASE}/webhooks", headers=alice_auth, json={"url": "https://example.com/a", "event": "sms:received"})
    assert created.status_code == 201
    made = created.json()
    assert made["id"] and made["url"] == "https://example.com/a" and made["deviceId"] is None
    again = await client.post(
        f"{BASE}/webhooks", headers=alice_auth,
        json={"id": made["id"], "url": "https://example.com/b", "event": "sms:delivered", "deviceId": device.ext_id},
    )
    assert again.status_code == 201
    listed = (await client.get(f"{BASE}/webhooks", headers=alice_auth)).json()
    assert listed == [{"id": made["id"], "deviceId": device.ext_id, "url": "https://example.com/b", "event": "sms:delivered"}]
    assert (await client.post(f"{BASE}/webhooks", headers=alice_auth, json={"url": "https://example.com/a", "event": "nope"})).status_code == 400
    assert (await client.delete(f"{BASE}/webhooks/{made['id']}", headers=alice_auth)).status_code == 204
    assert (await client.get(f"{BASE}/webhooks", headers=alice_auth)).json() == []
    settings = (await client.get(f"{BASE}/settings", headers=alice_auth)).json()
    assert settings["webhooks"]["signing_key"]


async def test_inbox_lists_received_and_refresh_asks_the_phone(client, core, alice, alice_auth) -> None:  # noqa: ANN001
    device, _ = await phone(core, alice.id)
    from postino.core.messages import inbound

    async with core.unit() as unit:
        await inbound.receive(unit, device, sender="+393331112222", body="hello there", phone_message_id="p1", slot=0)
    listed = await client.get(f"{BASE}/inbox", headers=alice_auth)
    assert listed.status_code == 200 and listed.headers["x-total-count"] == "1"
    (item,) = listed.json()
    assert item["type"] == "SMS" and item["sender"] == "+393331112222" and item["contentPreview"] == "hello there"
    assert item["simNumber"] == 1
    _parse(item["createdAt"])
    assert (await client.get(f"{BASE}/inbox", headers=alice_auth, params={"type": "MMS"})).json() == []
    events = core.notifier.subscribe(("device", device.id))
    window = {"since": "2025-01-01T00:00:00Z", "until": "2030-01-01T00:00:00Z"}
    refreshed = await client.post(f"{BASE}/inbox/refresh", headers=alice_auth, json=window)
    assert refreshed.status_code == 202
    assert events.get_nowait()[0] == "MessagesExportRequested"
    old = await client.post(f"{BASE}/messages/inbox/export", headers=alice_auth, json={**window, "deviceId": device.ext_id})
    assert old.status_code == 202 and old.headers["deprecation"] == "true"


async def test_logs_show_what_the_phone_did(client, core, alice, alice_auth) -> None:  # noqa: ANN001
    _device, token = await phone(core, alice.id)
    await client.post(f"{BASE}/messages", headers=alice_auth, json={"textMessage": {"text": "x"}, "phoneNumbers": ["+393491234567"]})
    (handed,) = await pull(client, token)
    await report(client, token, [handed["id"]], "Failed")
    entries = (await client.get(f"{BASE}/logs", headers=alice_auth)).json()
    assert {e["context"]["state"] for e in entries} >= {"queued", "assigned", "failed"}
    assert entries[0]["priority"] == "ERROR"
    for entry in entries:
        assert set(entry) == {"id", "priority", "module", "message", "context", "createdAt"}
        _parse(entry["createdAt"])
    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)).isoformat()
    assert (await client.get(f"{BASE}/logs", headers=alice_auth, params={"from": later})).json() == []
