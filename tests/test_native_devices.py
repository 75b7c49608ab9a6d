"""/api/v1/devices: an account lists its phones and sets the pace each one is told."""

from __future__ import annotations

from postino.core.devices import devices


async def _phone(core, account_id: int):  # noqa: ANN001, ANN202
    async with core.unit() as unit:
        return await devices.register(
            unit, account_id, name="shop-phone", sim_cards=[{"slotIndex": 0, "simNumber": 1},
                                                           {"slotIndex": 2, "simNumber": 3, "channels": ["whatsapp"]}]
        )  # fmt: skip


async def test_list_and_change_the_pace_a_phone_is_told(core, client, alice) -> None:  # noqa: ANN001
    device, token = await _phone(core, alice.id)
    auth = {"Authorization": f"Bearer {alice.bearer_token}"}
    listed = (await client.get("/api/v1/devices", headers=auth)).json()["data"]
    assert listed == [
        {
            "id": device.id, "ext_id": device.ext_id, "name": "shop-phone", "online": True,
            "last_seen": listed[0]["last_seen"], "slots": {"0": "sms", "2": "whatsapp"},
            "delay_between_sms": 0, "delay_between_request": 0,
        }
    ]  # fmt: skip
    assert listed[0]["last_seen"].endswith("Z")

    events = core.notifier.subscribe(("device", device.id))
    answer = await client.patch(
        f"/api/v1/devices/{device.id}", headers=auth, json={"delay_between_sms": 7, "delay_between_request": 30}
    )
    assert answer.status_code == 200
    assert answer.json()["data"]["delay_between_sms"] == 7
    assert events.get_nowait() == ("SettingsUpdated", {})

    served = (await client.get("/api/mobile/v1/settings", headers={"Authorization": f"Bearer {token}"})).json()
    assert served["messages"]["send_interval_min"] == 7
    assert served["messages"]["send_interval_max"] == 7
    assert served["ping"]["interval_seconds"] == 30
    sg24 = (await client.get("/getdata/getalldevices", params={"token": alice.sg24_token})).json()
    assert sg24["device"][str(device.id)]["delaybetweeneachsms"] == 7
    assert sg24["device"][str(device.id)]["delaybetweenrequest"] == 30


async def test_bad_changes_and_other_accounts_are_refused(core, client, alice, bob) -> None:  # noqa: ANN001
    device, _ = await _phone(core, alice.id)
    mine = {"Authorization": f"Bearer {alice.bearer_token}"}
    theirs = {"Authorization": f"Bearer {bob.bearer_token}"}
    assert (await client.get("/api/v1/devices", headers=theirs)).json() == {"data": []}
    foreign = await client.patch(f"/api/v1/devices/{device.id}", headers=theirs, json={"delay_between_sms": 1})
    assert foreign.status_code == 404
    for body in ({"delay_between_sms": -1}, {"delay_between_sms": "soon"}, {"colour": "red"}):
        bad = await client.patch(f"/api/v1/devices/{device.id}", headers=mine, json=body)
        assert bad.status_code == 422, body
        assert bad.json()["error"]["code"] == "invalid"
    assert (await client.get("/api/v1/devices", headers={"Authorization": "Bearer nope"})).status_code == 401
    listed = (await client.get("/api/v1/devices", headers=mine)).json()["data"]
    assert listed[0]["delay_between_sms"] == 0
