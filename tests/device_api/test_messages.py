"""Pulling and reporting messages: the app's JSON in, the lifecycle out, never another's."""

from __future__ import annotations

from sqlalchemy import select

from postino.core.messages import messages
from postino.db.tables import message_events

from .helpers import API, bearer, device_of, queue, register

MESSAGE_KEYS = {
    "id", "message", "textMessage", "phoneNumbers", "isEncrypted", "simNumber", "withDeliveryReport",
    "ttl", "validUntil", "scheduleAt", "priority", "state", "createdAt",
}  # fmt: skip


async def _events(core, message_id: int) -> list[str]:  # noqa: ANN001
    async with core.reader() as unit:
        rows = await unit.conn.execute(
            select(message_events.c.state)
            .where(message_events.c.message_id == message_id)
            .order_by(message_events.c.id)
        )
        return list(rows.scalars())


async def _row(core, account_id: int, message_id: int):  # noqa: ANN001, ANN202
    async with core.reader() as unit:
        return await messages.get(unit, account_id, message_id)


async def test_get_message_hands_out_in_queue_order_with_the_app_fields(client, core, alice) -> None:
    reg = await register(client, alice.device_registration_token, simCards=[{"slotIndex": 0, "simNumber": 1}])
    device = await device_of(core, reg["id"])
    old, new = await queue(core, alice.id, device.id, "old", "new")
    (urgent,) = await queue(core, alice.id, device.id, "urgent", urgent=True)
    response = await client.get(f"{API}/message", headers=bearer(reg["token"]))
    assert response.status_code == 200
    body = response.json()
    assert [m["id"] for m in body] == [str(urgent), str(old), str(new)]
    first = body[0]
    assert set(first) == MESSAGE_KEYS
    assert first["message"] == "urgent" and first["textMessage"] == {"text": "urgent"}
    assert first["phoneNumbers"] == ["+393491234567"]
    assert first["simNumber"] == 1 and first["isEncrypted"] is False and first["withDeliveryReport"] is True
    assert first["priority"] == 100 and body[1]["priority"] == 0
    assert first["state"] == "Pending" and first["ttl"] is None and first["validUntil"] is None
    assert (await _row(core, alice.id, old)).state == "assigned"
    # asked again (a phone that restarted): the same messages, lease renewed; the alias works too
    again = (await client.get(f"{API}/messages?order=lifo", headers=bearer(reg["token"]))).json()
    assert [m["id"] for m in again] == [str(urgent), str(new), str(old)]
    assert (await client.get(f"{API}/message?order=random", headers=bearer(reg["token"]))).status_code == 400


async def test_patch_message_with_the_apps_states_walks_the_lifecycle(client, core, alice) -> None:
    reg = await register(client, alice.device_registration_token)
    device = await device_of(core, reg["id"])
    ok_id, fail_id = await queue(core, alice.id, device.id, "hello", "nope")
    await client.get(f"{API}/message", headers=bearer(reg["token"]))
    report = (
        '[{"id":"%d","state":"Delivered","recipients":[{"phoneNumber":"+393491234567","state":"Delivered",'
        '"error":null}],"states":{"Processed":"2030-01-01T00:00:00.000+00:00","Sent":1700000000123,'
        '"Delivered":"2024-06-22T15:46:11.000Z"}},'
        '{"id":"%d","state":"Failed","recipients":[{"phoneNumber":"+393491234567","state":"Failed",'
        '"error":"RESULT_ERROR_NO_SERVICE"}],"states":{"Processed":"2024-06-22T15:46:10.000Z"}},'
        '{"id":"999999","state":"Sent","recipients":[]},{"id":"not-ours","state":"Sent","recipients":[]}]'
    ) % (ok_id, fail_id)
    response = await client.patch(
        f"{API}/message", content=report.encode(), headers={**bearer(reg["token"]), "Content-Type": "application/json"}
    )
    assert response.status_code == 204 and response.content == b""
    assert await _events(core, ok_id) == ["queued", "assigned", "taken", "sent", "delivered"]
    assert await _events(core, fail_id) == ["queued", "assigned", "taken", "failed"]
    failed = await _row(core, alice.id, fail_id)
    assert (failed.state, failed.reason, failed.error) == ("failed", "no_service", "RESULT_ERROR_NO_SERVICE")
    delivered = await _row(core, alice.id, ok_id)
    assert delivered.state == "delivered" and delivered.delivered_at is not None
    # a late "Sent" changes nothing (monotonic)
    late = [{"id": str(ok_id), "state": "Sent", "recipients": [], "states": {}}]
    assert (await client.patch(f"{API}/messages", json=late, headers=bearer(reg["token"]))).status_code == 204
    assert (await _row(core, alice.id, ok_id)).state == "delivered"
    absurd = [{"id": i, "state": "Sent"} for i in ("123456789012345678901234567890", "-5", "0", " 7 ", 42)]
    assert (await client.patch(f"{API}/message", json=absurd, headers=bearer(reg["token"]))).status_code == 204


async def test_failure_reasons_follow_the_android_result_codes(client, core, alice) -> None:
    reg = await register(client, alice.device_registration_token)
    device = await device_of(core, reg["id"])
    errors = {
        "RESULT_ERROR_NULL_PDU": "null_pdu",
        "RESULT_ERROR_RADIO_OFF": "radio_off",
        "SMS sending not allowed: permission denied": "not_allowed",
        "RESULT_ERROR_GENERIC_FAILURE": "generic",
    }
    ids = await queue(core, alice.id, device.id, *errors)
    await client.get(f"{API}/message", headers=bearer(reg["token"]))
    body = [
        {"id": str(i), "state": "Failed",
         "recipients": [{"phoneNumber": "+393491234567", "state": "Failed", "error": e}]}
        for i, e in zip(ids, errors)
    ]
    assert (await client.patch(f"{API}/message", json=body, headers=bearer(reg["token"]))).status_code == 204
    for message_id, reason in zip(ids, errors.values()):
        assert (await _row(core, alice.id, message_id)).reason == reason


async def test_bad_reports_are_400_with_a_message_never_500(client, alice) -> None:
    reg = await register(client, alice.device_registration_token)
    cases = [
        b"",
        b"{oops",
        b'{"id":"1","state":"Sent"}',
        b'["x"]',
        b'[{"state":"Sent"}]',
        b'[{"id":"1"}]',
        b'[{"id":"1","state":"Exploded"}]',
        b'[{"id":true,"state":"Sent"}]',
        b'[{"id":"1","state":"Sent","recipients":"all"}]',
        b'[{"id":"1","state":"Sent","states":[1,2]}]',
    ]
    for body in cases:
        response = await client.patch(
            f"{API}/message", content=body, headers={**bearer(reg["token"]), "Content-Type": "application/json"}
        )
        assert response.status_code == 400, (body, response.status_code, response.text)
        assert response.json()["message"]


async def test_a_device_never_sees_or_moves_another_devices_messages(client, core, alice, bob) -> None:
    mine = await register(client, alice.device_registration_token)
    theirs = await register(client, bob.device_registration_token)
    sibling = await register(client, alice.device_registration_token)  # same account, other phone
    (alice_msg,) = await queue(core, alice.id, (await device_of(core, mine["id"])).id, "for alice's phone")
    for intruder in (theirs, sibling):
        assert (await client.get(f"{API}/message", headers=bearer(intruder["token"]))).json() == []
        report = [{"id": str(alice_msg), "state": "Failed", "recipients": [], "states": {}}]
        assert (await client.patch(f"{API}/message", json=report, headers=bearer(intruder["token"]))).status_code == 204
        assert (await _row(core, alice.id, alice_msg)).state == "queued"
    pulled = (await client.get(f"{API}/message", headers=bearer(mine["token"]))).json()
    assert [m["id"] for m in pulled] == [str(alice_msg)]


async def test_canceled_messages_are_not_handed_out(client, core, alice) -> None:
    reg = await register(client, alice.device_registration_token)
    device = await device_of(core, reg["id"])
    keep, drop = await queue(core, alice.id, device.id, "keep", "drop")
    async with core.unit() as unit:
        await messages.cancel(unit, alice.id, [drop])
    pulled = (await client.get(f"{API}/message", headers=bearer(reg["token"]))).json()
    assert [m["id"] for m in pulled] == [str(keep)]
