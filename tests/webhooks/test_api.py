"""``/api/v1/webhooks`` and ``postino webhooks``: each account manages and sees only its own."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import update
from typer.testing import CliRunner

from postino.cli import app as cli_app
from postino.core.accounts import credentials
from postino.core.clock import utcnow
from postino.core.devices import presence
from postino.core.events import webhooks
from postino.db.tables import devices

from ..support import wait_for
from .helpers import all_settled, phone

EVENTS = ["message.delivered", "message.failed"]


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def test_crud_and_deliveries_over_http(client, core, alice, bob, receiver) -> None:
    created = await client.post(
        "/api/v1/webhooks", headers=auth(alice.bearer_token), json={"url": receiver.url + "/a", "events": EVENTS}
    )
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["events"] == EVENTS and hook["secret"].startswith("whsec_")
    assert hook["secret_hint"] == hook["secret"][-4:]

    listed = await client.get("/api/v1/webhooks", headers=auth(alice.bearer_token))
    assert listed.json() == {"data": [{k: v for k, v in hook.items() if k != "secret"}]}
    assert (await client.get("/api/v1/webhooks", headers=auth(bob.bearer_token))).json() == {"data": []}

    # Bob cannot read or remove Alice's webhook: it does not exist for him.
    assert (await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=auth(bob.bearer_token))).status_code == 404
    assert (await client.delete(f"/api/v1/webhooks/{hook['id']}", headers=auth(bob.bearer_token))).status_code == 404

    async with core.unit() as unit:
        await webhooks.emit(unit, bob.id, "message.failed", {"id": 1})  # bob has no webhook: nothing
        await webhooks.emit(unit, alice.id, "message.failed", {"id": 2})
    await wait_for(lambda: all_settled(core, 1), message="delivery")
    log = await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=auth(alice.bearer_token))
    (delivery,) = log.json()["data"]
    assert delivery["state"] == "delivered" and delivery["event"] == "message.failed"
    assert [(a["attempt"], a["status_code"]) for a in delivery["log"]] == [(1, 200)]

    assert (await client.delete(f"/api/v1/webhooks/{hook['id']}", headers=auth(alice.bearer_token))).status_code == 204
    assert (await client.get("/api/v1/webhooks", headers=auth(alice.bearer_token))).json() == {"data": []}


async def test_bad_requests_get_clear_errors(client, core, alice) -> None:
    assert (await client.get("/api/v1/webhooks")).status_code == 401
    assert (await client.get("/api/v1/webhooks", headers=auth("pst_nope"))).status_code == 401
    assert (await client.get("/api/v1/webhooks", headers=auth(alice.sg24_token))).status_code == 401
    bad_event = await client.post(
        "/api/v1/webhooks", headers=auth(alice.bearer_token), json={"url": "https://example.com/", "events": ["nope"]}
    )
    assert bad_event.status_code == 422 and bad_event.json()["error"]["field"] == "events"
    bad_url = await client.post(
        "/api/v1/webhooks", headers=auth(alice.bearer_token), json={"url": "gopher://x", "events": EVENTS}
    )
    assert bad_url.status_code == 422 and bad_url.json()["error"]["field"] == "url"
    async with core.unit() as unit:
        reader = await credentials.issue(unit, alice.id, "bearer", scopes=["messages:read"])
    assert (await client.get("/api/v1/webhooks", headers=auth(reader.secret))).status_code == 200
    denied = await client.post(
        "/api/v1/webhooks", headers=auth(reader.secret), json={"url": "https://example.com/", "events": EVENTS}
    )
    assert denied.status_code == 403


async def test_device_offline_is_announced_once(app, core, alice, receiver) -> None:
    async with core.unit() as unit:
        await webhooks.create(unit, alice.id, url=receiver.url, events=["device.offline"])
    device = await phone(core, alice.id)
    async with core.unit() as unit:
        await unit.conn.execute(
            update(devices).where(devices.c.id == device).values(last_seen=utcnow() - timedelta(hours=1))
        )
        await presence.notice_offline(unit)
    async with core.unit() as unit:
        await presence.notice_offline(unit)  # already announced: nothing new
    await wait_for(lambda: all_settled(core, 1), message="device.offline delivered")
    (request,) = receiver.requests()
    body = json.loads(request["body"])
    assert body["event"] == "device.offline" and body["data"]["id"] == device


async def test_cli_manages_webhooks(core, alice, receiver, tmp_path, database_url) -> None:
    runner = CliRunner()
    common = ["--email", alice.email, "--data-dir", str(tmp_path / "cli"), "--database-url", database_url]

    async def cli(*args: str, code: int = 0):  # noqa: ANN202
        result = await asyncio.to_thread(
            runner.invoke, cli_app, ["webhooks", *args, *common], env={"POSTINO_ALLOW_PRIVATE_URLS": "true"}
        )
        assert result.exit_code == code, result.output
        return result

    added = await cli(
        "add", "--url", receiver.url + "/c", "--events", "message.sent,campaign.finished",
        "--secret", "0123456789abcdef0123", "--json",
    )
    hook = json.loads(added.stdout)
    assert hook["secret"] == "0123456789abcdef0123" and hook["events"] == ["message.sent", "campaign.finished"]
    listed = json.loads((await cli("list", "--json")).stdout)
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
    assert "webhooks of" in (await cli("list")).stdout

    async with core.unit() as unit:
        await webhooks.emit(unit, alice.id, "campaign.finished", {"id": 3})
    log = json.loads((await cli("log", "--limit", "5", "--json")).stdout)
    assert [(d["event"], d["webhook_id"], d["state"]) for d in log] == [("campaign.finished", hook["id"], "pending")]

    refused = await cli("add", "--url", receiver.url, "--events", "bogus", code=1)
    assert "Unknown event" in refused.output
    await cli("remove", "--id", str(hook["id"]))
    async with core.reader() as unit:
        assert await webhooks.list_for(unit, alice.id) == []
    assert (await all_settled(core, 1, "canceled")) is not None
    await cli("remove", "--id", str(hook["id"]), code=1)
