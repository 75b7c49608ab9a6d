"""Registration and the device itself, with the app's literal requests and the exact answers."""

from __future__ import annotations

import re

from postino.core.devices import devices

from .helpers import API, APP_AGENT, basic, bearer, device_of, register

URLSAFE_21 = re.compile(r"^[A-Za-z0-9_-]{21}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_registration_token_registers_a_device(client, core, alice) -> None:
    response = await client.post(
        f"{API}/device",
        content=b'{"name":"Google/sdk_gphone64_x86_64","pushToken":null}',
        headers={"Authorization": f"Bearer {alice.device_registration_token}", "Content-Type": "application/json",
                 **APP_AGENT},
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"id", "token", "login"}
    assert URLSAFE_21.match(body["id"]) and URLSAFE_21.match(body["token"])
    assert body["login"] == alice.email
    device = await device_of(core, body["id"])
    assert device.account_id == alice.id
    assert device.name == "Google/sdk_gphone64_x86_64"
    assert device.app_version == "1.40.0"
    assert device.slots() == {0: "sms"}


async def test_get_device_with_and_without_token(client, alice) -> None:
    reg = await register(client, alice.device_registration_token)
    anonymous = await client.get(f"{API}/device")
    assert anonymous.status_code == 200
    assert anonymous.json() == {"externalIp": "127.0.0.1"}
    mine = (await client.get(f"{API}/device", headers=bearer(reg["token"]))).json()
    assert set(mine) == {"device", "externalIp"}
    assert set(mine["device"]) == {"id", "name", "createdAt", "updatedAt", "lastSeen"}
    assert mine["device"]["id"] == reg["id"]
    assert ISO.match(mine["device"]["createdAt"]) and ISO.match(mine["device"]["lastSeen"])
    wrong = await client.get(f"{API}/device", headers=bearer("x" * 21))
    assert wrong.status_code == 401 and wrong.json() == {"message": "Unauthorized"}


async def test_basic_login_and_one_time_code(client, core, alice) -> None:
    by_login = await client.post(f"{API}/device", json={"name": "a"}, headers=basic(alice.email, alice.password))
    assert by_login.status_code == 201
    assert "password" not in by_login.json()
    refused = await client.post(f"{API}/device", json={"name": "a"}, headers=basic(alice.email, "wrong password"))
    assert refused.status_code == 401
    assert refused.json() == {"message": "Login or password incorrect"}

    code = await client.get(f"{API}/user/code", headers=basic(alice.email, alice.password))
    assert code.status_code == 200
    assert set(code.json()) == {"code", "validUntil"}
    assert re.fullmatch(r"\d{6}", code.json()["code"]) and ISO.match(code.json()["validUntil"])
    joined = await client.post(f"{API}/device", json={}, headers={"Authorization": f"Code {code.json()['code']}"})
    assert joined.status_code == 201
    assert (await device_of(core, joined.json()["id"])).account_id == alice.id
    again = await client.post(f"{API}/device", json={}, headers={"Authorization": f"Code {code.json()['code']}"})
    assert again.status_code == 401
    assert (await client.get(f"{API}/user/code")).status_code == 401


async def test_registration_refuses_bad_credentials_and_bad_input(client, alice) -> None:
    cases = [
        ({}, b"{}", 401),
        ({"Authorization": "Bearer not-a-token"}, b"{}", 401),
        ({"Authorization": f"Bearer {alice.sg24_token}"}, b"{}", 401),  # another kind of credential
        ({"Authorization": "Basic !!!"}, b"{}", 401),
        ({"Authorization": f"Bearer {alice.device_registration_token}"}, b"{not json", 400),
        ({"Authorization": f"Bearer {alice.device_registration_token}"}, b"[]", 400),
        ({"Authorization": f"Bearer {alice.device_registration_token}"}, b'{"name": 5}', 400),
        ({"Authorization": f"Bearer {alice.device_registration_token}"}, b'{"simCards": {"slotIndex": 0}}', 400),
        ({"Authorization": f"Bearer {alice.device_registration_token}"}, b'{"simCards": [{"slotIndex": 9}]}', 400),
    ]
    for headers, body, status in cases:
        response = await client.post(f"{API}/device", content=body, headers=headers)
        assert response.status_code == status, (headers, body, response.text)
        assert isinstance(response.json()["message"], str) and response.json()["message"]


async def test_patch_device_updates_push_token_and_slots_only_for_itself(client, core, alice) -> None:
    reg = await register(client, alice.device_registration_token)
    other = await register(client, alice.device_registration_token)
    body = {
        "id": reg["id"],
        "pushToken": "fcm-token",
        "simCards": [{"slotIndex": 0, "simNumber": 1, "carrierName": "TIM"},
                     {"slotIndex": 2, "simNumber": 3, "channels": ["whatsapp"]}],
    }
    ok = await client.patch(f"{API}/device", json=body, headers=bearer(reg["token"]))
    assert ok.status_code == 204 and ok.content == b""
    device = await device_of(core, reg["id"])
    assert device.push_token == "fcm-token"
    assert device.slots() == {0: "sms", 2: "whatsapp"}
    forbidden = await client.patch(f"{API}/device", json={**body, "id": other["id"]}, headers=bearer(reg["token"]))
    assert forbidden.status_code == 403
    no_id = await client.patch(f"{API}/device", json={"pushToken": "x"}, headers=bearer(reg["token"]))
    assert no_id.status_code == 400
    assert (await client.patch(f"{API}/device", json=body)).status_code == 401


async def test_every_call_marks_the_device_seen(client, core, alice) -> None:
    reg = await register(client, alice.device_registration_token)
    device = await device_of(core, reg["id"])
    async with core.unit() as unit:
        from datetime import timedelta

        await devices.update_device(unit, device.id, last_seen=device.created_at - timedelta(hours=1))
    assert not (await device_of(core, reg["id"])).online(core.settings.offline_after_seconds)
    assert (await client.get(f"{API}/settings", headers=bearer(reg["token"]))).status_code == 200
    assert (await device_of(core, reg["id"])).online(core.settings.offline_after_seconds)
