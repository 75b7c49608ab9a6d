"""Webhooks reach a real receiver: retried until acknowledged, once each, in order, signed."""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import pytest_asyncio
from sqlalchemy import update

from postino.app import create_app
from postino.core.clock import utcnow
from postino.core.events import outbox as outbox_core
from postino.core.events import webhooks
from postino.core.service import Core
from postino.db.tables import outbox
from postino.dispatch.outbox import claim

from ..support import wait_for
from .helpers import Headers, all_settled, attempts_of, documented_verify, inbound, move, outgoing, phone

SECRET = "s3cret-s3cret-s3cret"


async def test_events_are_retried_then_acknowledged_once_each_in_order(app, core, alice, receiver) -> None:
    receiver.control({"fail_first": 3, "status": 500})
    async with core.unit() as unit:
        hook = await webhooks.create(
            unit, alice.id, url=receiver.url + "/hook", secret=SECRET,
            events=["message.sent", "message.delivered", "message.failed", "message.received"],
        )
    device = await phone(core, alice.id)
    good = await outgoing(core, alice.id, device, "good")
    bad = await outgoing(core, alice.id, device, "bad")
    await move(core, good, "sent")
    await move(core, bad, "sent")
    await move(core, good, "delivered")
    await move(core, bad, "failed", reason="no_service", error="radio says no")
    received = await inbound(core, alice.id, device, "ciao")

    rows = await wait_for(lambda: all_settled(core, 5), timeout=20, message="5 deliveries acknowledged")
    assert {r.webhook_id for r in rows} == {hook.id}

    acked = receiver.acknowledged()
    deliveries = [r["headers"]["x-postino-delivery"] for r in acked]
    assert sorted(deliveries) == sorted(str(r.id) for r in rows), "each event acknowledged exactly once"

    by_message: dict[int, list[str]] = defaultdict(list)
    for request in acked:
        body = json.loads(request["body"])
        by_message[body["data"]["id"]].append(body["event"])
    assert by_message[good] == ["message.sent", "message.delivered"]
    assert by_message[bad] == ["message.sent", "message.failed"]
    assert by_message[received] == ["message.received"]

    # Strictly in order: the second event of a message is not even tried before the first is acknowledged.
    requests = receiver.requests()
    for message_id in (good, bad):
        mine = [r for r in requests if json.loads(r["body"])["data"]["id"] == message_id]
        first_ack = next(i for i, r in enumerate(mine) if r["status"] == 200)
        assert all(json.loads(r["body"])["event"] == "message.sent" for r in mine[: first_ack + 1])

    # Four attempts each: 500, 500, 500, 200 — in the receiver's log and in Postino's.
    for row in rows:
        mine = [r for r in requests if r["headers"]["x-postino-delivery"] == str(row.id)]
        assert [r["status"] for r in mine] == [500, 500, 500, 200]
        assert [r["headers"]["x-postino-attempt"] for r in mine] == ["1", "2", "3", "4"]
        logged = await attempts_of(core, row.id)
        assert [(a.attempt, a.status_code) for a in logged] == [(1, 500), (2, 500), (3, 500), (4, 200)]
        assert all(a.duration_ms >= 0 for a in logged)
        assert row.attempts == 4 and row.delivered_at is not None

    failed = next(json.loads(r["body"]) for r in acked if json.loads(r["body"])["event"] == "message.failed")
    assert failed["data"]["state"] == "failed"
    assert failed["data"]["reason"] == "no_service"
    assert failed["data"]["error"] == "radio says no"
    assert failed["data"]["recipient"] == "+393491234567"
    assert failed["data"]["channel"] == "sms"
    assert failed["id"].startswith("evt_") and failed["created_at"].endswith("Z")
    incoming = next(json.loads(r["body"]) for r in acked if json.loads(r["body"])["event"] == "message.received")
    assert incoming["data"]["body"] == "ciao"
    assert incoming["data"]["direction"] == "in"
    assert "body" not in failed["data"]


async def test_signature_verifies_with_the_documented_snippet(app, core, alice, receiver) -> None:
    verify = documented_verify()
    async with core.unit() as unit:
        await webhooks.create(unit, alice.id, url=receiver.url, events=["message.received"], secret=SECRET)
    device = await phone(core, alice.id)
    await inbound(core, alice.id, device, "Grüße 👋")
    await wait_for(lambda: all_settled(core, 1), message="delivery")
    (request,) = receiver.requests()
    headers = Headers(request["headers"])
    body = request["body"].encode("utf-8")
    assert headers.get("Content-Type") == "application/json"
    assert headers.get("X-Postino-Event") == "message.received"
    assert headers.get("X-Postino-Signature").startswith("sha256=")
    assert verify(SECRET, headers, body)
    assert not verify("another-secret-value", headers, body)
    assert not verify(SECRET, headers, body.replace("Grüße".encode(), b"Hallo"))
    stale = Headers({**request["headers"], "x-postino-timestamp": str(int(headers.get("X-Postino-Timestamp")) - 3600)})
    assert not verify(SECRET, stale, body)
    assert json.loads(body)["data"]["body"] == "Grüße 👋"


async def test_events_go_only_to_webhooks_that_want_them(app, core, alice, bob, receiver) -> None:
    async with core.unit() as unit:
        await webhooks.create(unit, alice.id, url=receiver.url + "/delivered", events=["message.delivered"])
        await webhooks.create(unit, bob.id, url=receiver.url + "/bob", events=["message.sent", "message.delivered"])
    device = await phone(core, alice.id)
    mid = await outgoing(core, alice.id, device)
    await move(core, mid, "sent")
    await move(core, mid, "delivered")
    await move(core, mid, "read")
    rows = await wait_for(lambda: all_settled(core, 1), message="one delivery")
    assert rows[0].event == "message.delivered"
    assert [r["path"] for r in receiver.requests()] == ["/delivered"]


async def test_dialect_callback_as_form_field_unsigned(app, core, alice, receiver) -> None:
    """A MessaggiSMS-style callback: ``callback_field=data`` posts the JSON as one form field."""
    async with core.unit() as unit:
        await outbox_core.enqueue(
            unit, account_id=alice.id, event="messaggisms.callback", url=receiver.url + "/cb",
            payload={"id": "abc", "state": 2}, form_field="data",
        )
    await wait_for(lambda: all_settled(core, 1), message="callback delivered")
    (request,) = receiver.requests()
    assert request["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert json.loads(parse_qs(request["body"])["data"][0]) == {"id": "abc", "state": 2}
    assert "x-postino-signature" not in request["headers"]
    assert request["headers"]["x-postino-timestamp"].isdigit()


async def test_emit_for_other_events(app, core, alice, receiver) -> None:
    async with core.unit() as unit:
        await webhooks.create(unit, alice.id, url=receiver.url, events=["campaign.finished", "device.offline"])
        ids = await webhooks.emit(unit, alice.id, "campaign.finished", {"id": 7, "title": "spring"})
        assert len(ids) == 1
        assert await webhooks.emit(unit, alice.id, "wa_phone_check.done", {"results": []}) == []
    await wait_for(lambda: all_settled(core, 1), message="campaign event")
    (request,) = receiver.requests()
    body = json.loads(request["body"])
    assert body["event"] == "campaign.finished"
    assert body["data"] == {"id": 7, "title": "spring"}


async def test_gives_up_after_the_deadline(app, core, alice, receiver) -> None:
    receiver.control({"always": 503})
    async with core.unit() as unit:
        oid = await outbox_core.enqueue(unit, account_id=alice.id, event="x", url=receiver.url, payload={})
        await unit.conn.execute(update(outbox).where(outbox.c.id == oid).values(deadline=utcnow()))
    rows = await wait_for(lambda: all_settled(core, 1, "failed"), message="given up")
    assert rows[0].attempts == 1
    assert [(a.status_code, a.error) for a in await attempts_of(core, oid)] == [(503, "HTTP 503")]


async def test_removing_a_webhook_cancels_its_pending_deliveries(app, core, alice, receiver) -> None:
    receiver.control({"always": 500})
    async with core.unit() as unit:
        hook = await webhooks.create(unit, alice.id, url=receiver.url, events=["campaign.finished"])
        await webhooks.emit(unit, alice.id, "campaign.finished", {"id": 1})
    await wait_for(lambda: len(receiver.requests()) >= 1, message="a first attempt")
    async with core.unit() as unit:
        await webhooks.remove(unit, alice.id, hook.id)
    await wait_for(lambda: all_settled(core, 1, "canceled"), message="canceled")


@pytest_asyncio.fixture
async def capped(settings) -> AsyncIterator[Core]:  # noqa: ANN001
    """A running app that sends at most two POSTs at a time to one host."""
    narrow = settings.model_copy(update={"webhook_host_concurrency": 2})
    core = Core(narrow)
    application = create_app(narrow, core)
    async with application.router.lifespan_context(application):
        yield core


async def test_at_most_the_host_cap_in_flight(capped, alice, receiver) -> None:
    receiver.control({"delay": 0.15})
    async with capped.unit() as unit:
        for n in range(6):
            await outbox_core.enqueue(unit, account_id=alice.id, event="x", url=receiver.url, payload={"n": n})
    await wait_for(lambda: all_settled(capped, 6), message="six delivered")
    spans = [(r["start"], r["t"]) for r in receiver.requests()]
    overlap = max(sum(1 for s, e in spans if s <= at < e) for at, _ in spans)
    assert overlap == 2


async def test_claim_skips_hosts_at_their_cap(core, alice) -> None:
    async with core.unit() as unit:
        for _ in range(3):
            await outbox_core.enqueue(unit, account_id=alice.id, event="x", url="http://slow.example:81/a", payload={})
        await outbox_core.enqueue(unit, account_id=alice.id, event="x", url="http://fast.example/b", payload={})
    busy = Counter({"slow.example:81": core.settings.webhook_host_concurrency})
    got = await claim(core, 1, busy, frozenset({"http://slow.example:81"}))
    assert [c.url for c in got] == ["http://fast.example/b"]
    assert busy["fast.example:"] == 1


async def test_two_workers_never_claim_the_same_row(core, settings, alice) -> None:
    async with core.unit() as unit:
        for n in range(40):
            await outbox_core.enqueue(
                unit, account_id=alice.id, event="x", url=f"http://h{n}.example/", payload={}, order_key=f"k{n % 10}"
            )
    other = Core(settings)
    try:
        first, second = await asyncio.gather(
            claim(core, 40, Counter()), claim(other, 40, Counter())
        )
    finally:
        await other.db.dispose()
    ids = [c.id for c in first + second]
    assert len(ids) == len(set(ids)) == 10  # one per order key: the oldest of each
