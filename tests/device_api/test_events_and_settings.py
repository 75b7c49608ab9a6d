"""The event stream, settings, webhook entries and presence."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from postino.core.clock import utcnow
from postino.core.devices import devices, presence
from postino.core.messages import messages
from postino.device_api import events as events_module

from .helpers import API, bearer, device_of, queue, register


class EventStream:
    """Drives the ASGI app directly: httpx's test transport would wait for the endless body."""

    def __init__(self, app, token: str) -> None:  # noqa: ANN001
        self.app = app
        self.token = token
        self.chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self.status: int | None = None
        self.headers: dict[bytes, bytes] = {}
        self.gone = asyncio.Event()
        self.asked = False
        self.task: asyncio.Task | None = None

    async def receive(self) -> dict:
        if not self.asked:
            self.asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = dict(message["headers"])
        elif message["type"] == "http.response.body" and message.get("body"):
            await self.chunks.put(message["body"])

    async def __aenter__(self) -> "EventStream":
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": f"{API}/events", "raw_path": f"{API}/events".encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {self.token}".encode())],
            "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
        }  # fmt: skip
        self.task = asyncio.create_task(self.app(scope, self.receive, self.send))
        return self

    async def next(self) -> bytes:
        return await asyncio.wait_for(self.chunks.get(), timeout=5)

    async def __aexit__(self, *exc: object) -> None:
        self.gone.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, timeout=5)


async def test_events_announce_enqueued_and_cancelled_messages_at_once(app, client, core, alice, monkeypatch) -> None:
    reg = await register(client, alice.device_registration_token)
    device = await device_of(core, reg["id"])
    monkeypatch.setattr(events_module, "KEEPALIVE_SECONDS", 0.2)
    async with EventStream(app, reg["token"]) as stream:
        assert await stream.next() == b"event: MessageEnqueued\ndata: {}\n\n"  # pull what waited
        assert stream.status == 200
        assert stream.headers[b"content-type"].startswith(b"text/event-stream")
        (message_id,) = await queue(core, alice.id, device.id, "hi")
        assert await stream.next() == b"event: MessageEnqueued\ndata: {}\n\n"
        async with core.unit() as unit:
            await messages.cancel(unit, alice.id, [message_id])
        expected = b'event: MessageCancelled\ndata: {"messageId":"%d"}\n\n' % message_id
        assert await stream.next() == expected
        async with core.unit() as unit:
            presence.settings_changed(unit, device.id)
        assert await stream.next() == b"event: SettingsUpdated\ndata: {}\n\n"
        assert await stream.next() == b":keepalive\n\n"


async def test_events_need_a_device_token(client) -> None:
    response = await client.get(f"{API}/events", headers=bearer("nobody-has-this-token"))
    assert response.status_code == 401


async def test_settings_serve_the_devices_delays_and_signing_key(client, core, alice) -> None:
    reg = await register(client, alice.device_registration_token)
    device = await device_of(core, reg["id"])
    async with core.unit() as unit:
        await devices.update_device(unit, device.id, delay_between_sms=3, delay_between_request=7)
    body = (await client.get(f"{API}/settings", headers=bearer(reg["token"]))).json()
    assert body["messages"]["send_interval_min"] == 3 and body["messages"]["send_interval_max"] == 3
    assert body["messages"]["limit_period"] == "Disabled"
    assert body["ping"] == {"interval_seconds": 7}
    assert body["webhooks"]["signing_key"] == device.webhook_key
    assert isinstance(body["webhooks"]["internet_required"], bool)


async def test_webhooks_point_back_at_postinos_receiver(client, core, alice) -> None:
    reg = await register(client, alice.device_registration_token)
    hooks = (await client.get(f"{API}/webhooks", headers=bearer(reg["token"]))).json()
    assert [h["event"] for h in hooks] == ["sms:received", "sms:sent", "sms:delivered", "sms:failed"]
    for hook in hooks:
        assert set(hook) == {"id", "deviceId", "url", "event"}
        assert hook["url"] == f"http://testserver{API}/hooks/{reg['id']}"
        assert hook["deviceId"] == reg["id"]


async def test_offline_devices_are_noticed_once_and_online_again_when_they_call(client, core, alice) -> None:
    reg = await register(client, alice.device_registration_token)
    device = await device_of(core, reg["id"])
    heard: list[list[int]] = []

    async def listener(unit, went) -> None:  # noqa: ANN001
        heard.append([d.id for d in went])

    core.listeners.offline.append(listener)
    try:
        async with core.unit() as unit:
            await devices.update_device(unit, device.id, last_seen=utcnow() - timedelta(hours=1))
        async with core.unit() as unit:
            await presence.notice_offline(unit)
        async with core.unit() as unit:
            await presence.notice_offline(unit)
        assert heard == [[device.id]]
        await client.get(f"{API}/device", headers=bearer(reg["token"]))  # back online: flag cleared
        async with core.unit() as unit:
            await presence.notice_offline(unit, now=utcnow() + timedelta(hours=1))
        assert heard == [[device.id], [device.id]]
    finally:
        core.listeners.offline.remove(listener)


@pytest.mark.parametrize("order", ["fifo", "lifo"])
async def test_pulling_marks_messages_leased(client, core, alice, order: str) -> None:
    reg = await register(client, alice.device_registration_token)
    device = await device_of(core, reg["id"])
    ids = await queue(core, alice.id, device.id, "a", "b")
    body = (await client.get(f"{API}/message?order={order}", headers=bearer(reg["token"]))).json()
    assert sorted(int(m["id"]) for m in body) == ids
    async with core.reader() as unit:
        rows = [await messages.get(unit, alice.id, i) for i in ids]
    assert all(r.state == "assigned" and r.lease_until is not None for r in rows)
