"""The webhook receiver: the app's signed ``sms:*`` POSTs, replayed byte for byte."""

from __future__ import annotations

import time

from sqlalchemy import select

from postino.core.messages import messages
from postino.db.tables import messages as messages_table

from .helpers import API, bearer, device_of, queue, register, signed

RECEIVED = (
    b'{"deviceId":"%s","event":"sms:received","id":"Ey6ECgOkVVFjz3CL48B8C","payload":'
    b'{"messageId":"abc","message":"Android is always a sweet treat!","phoneNumber":"6505551212",'
    b'"simNumber":1,"receivedAt":"2024-06-22T15:46:11.000+07:00"},"webhookId":"LreFUt-Z3sSq0JufY9uWB"}'
)


async def _received(core, account_id: int) -> list:  # noqa: ANN001
    async with core.reader() as unit:
        rows = await unit.conn.execute(
            select(messages_table).where(messages_table.c.account_id == account_id, messages_table.c.direction == "in")
        )
        return list(rows)


async def test_sms_received_is_stored_once_as_a_received_message(client, core, alice) -> None:
    reg = await register(client, alice.device_registration_token)
    device = await device_of(core, reg["id"])
    hook = f"{API}/hooks/{reg['id']}"
    body = RECEIVED % reg["id"].encode()
    first = await client.post(hook, content=body, headers=signed(device.webhook_key, body))
    assert first.status_code == 204, first.text
    retried = await client.post(hook, content=body, headers=signed(device.webhook_key, body))
    assert retried.status_code == 204
    rows = await _received(core, alice.id)
    assert len(rows) == 1
    row = rows[0]
    assert (row.state, row.direction, row.device_id, row.slot) == ("received", "in", device.id, 0)
    assert row.body == "Android is always a sweet treat!"
    # a bare number is read in the account's country (alice: IT), as for any number she types
    assert (row.sender, row.recipient, row.recipient_raw) == ("+396505551212", "+396505551212", "6505551212")
    assert row.price == 0


async def test_signature_timestamp_and_device_are_checked_before_anything(client, core, alice, bob) -> None:
    reg = await register(client, alice.device_registration_token)
    intruder = await register(client, bob.device_registration_token)
    device = await device_of(core, reg["id"])
    other = await device_of(core, intruder["id"])
    hook = f"{API}/hooks/{reg['id']}"
    body = RECEIVED % reg["id"].encode()
    cases = [
        {"Content-Type": "application/json"},  # unsigned
        signed(other.webhook_key, body),  # signed with bob's phone's key
        {**signed(device.webhook_key, body), "X-Signature": "00" * 32},
        signed(device.webhook_key, body, at=int(time.time()) - 3600),  # replayed an hour later
        {**signed(device.webhook_key, body), "X-Timestamp": "yesterday"},
    ]
    for headers in cases:
        response = await client.post(hook, content=body, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["message"]
    unknown = await client.post(f"{API}/hooks/nope", content=body, headers=signed(device.webhook_key, body))
    assert unknown.status_code == 401
    assert await _received(core, alice.id) == [] and await _received(core, bob.id) == []


async def test_bad_webhook_bodies_are_400(client, core, alice) -> None:
    reg = await register(client, alice.device_registration_token)
    device = await device_of(core, reg["id"])
    hook = f"{API}/hooks/{reg['id']}"
    for body in (
        b"not json",
        b"[]",
        b'{"event":"sms:received"}',
        b'{"event":"sms:received","payload":{"message":"x"}}',
        b'{"event":"sms:received","payload":{"phoneNumber":"+393491234567","message":5}}',
        b'{"event":"sms:received","payload":{"phoneNumber":"+393491234567","message":"x","simNumber":"one"}}',
        b'{"event":"sms:exploded","payload":{}}',
        b'{"event":"sms:delivered","payload":{}}',
    ):
        response = await client.post(hook, content=body, headers=signed(device.webhook_key, body))
        assert response.status_code == 400, (body, response.text)
        assert response.json()["message"]


async def test_delivery_news_by_webhook_moves_the_message(client, core, alice) -> None:
    reg = await register(client, alice.device_registration_token)
    device = await device_of(core, reg["id"])
    (message_id,) = await queue(core, alice.id, device.id, "hello")
    await client.get(f"{API}/message", headers=bearer(reg["token"]))
    body = (
        b'{"deviceId":"%s","event":"sms:delivered","id":"x","payload":{"messageId":"%d",'
        b'"phoneNumber":"+393491234567","deliveredAt":"2024-06-22T15:46:11.000+07:00"},"webhookId":"w"}'
    ) % (reg["id"].encode(), message_id)
    response = await client.post(f"{API}/hooks/{reg['id']}", content=body, headers=signed(device.webhook_key, body))
    assert response.status_code == 204
    async with core.reader() as unit:
        assert (await messages.get(unit, alice.id, message_id)).state == "delivered"
