"""Routes: weights split the traffic, a connector that is down is skipped, none up is a refusal now.

Connectors here are records whose live state the test sets the way a serving node reports
it (``records.report``); the messages go in through the MessaggiSMS and NusaSMS APIs.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest_asyncio
from sqlalchemy import func, select

from postino.connectors.kinds import KINDS
from postino.core.accounts import accounts
from postino.core.clock import utcnow
from postino.core.messages import lifecycle, queue
from postino.core.messages import messages as messages_mod
from postino.core.routing import connectors as records
from postino.core.routing import routes
from postino.db.tables import messages
from tests.conftest import make_account

URL = "/messages/"


async def connector(core, account_id: int, name: str, *, up: bool = True) -> int:  # noqa: ANN001
    config, secrets = KINDS["smpp"].parse({"host": "127.0.0.1", "port": 2775, "system_id": name, "password": "pw"})
    async with core.unit() as unit:
        record = await records.add(unit, account_id, name=name, kind="smpp", config=config, secrets=secrets)
        if up:
            await records.report(unit, record.id, state="bound")
    return record.id


async def set_up(core, account_id: int, connector_id: int, up: bool) -> None:  # noqa: ANN001
    async with core.unit() as unit:
        await records.report(unit, connector_id, state="bound" if up else "down", detail="" if up else "closed")
    core.cache.connectors.clear()


async def by_connector(core) -> Counter:  # noqa: ANN001
    async with core.reader() as unit:
        rows = await unit.conn.execute(select(messages.c.connector_id, func.count()).group_by(messages.c.connector_id))
        return Counter({r[0]: r[1] for r in rows})


@pytest_asyncio.fixture
async def pair(core, alice):  # noqa: ANN001, ANN201
    first = await connector(core, alice.id, "first")
    second = await connector(core, alice.id, "second")
    async with core.unit() as unit:
        await routes.add(unit, alice.id, channel="sms", targets=[(first, 3), (second, 1)])
    return first, second


def h(alice) -> dict:  # noqa: ANN001
    return {"Authorization": f"Bearer {alice.bearer_token}"}


async def send(client, alice, count: int, start: int = 0):  # noqa: ANN001, ANN201
    numbers = [f"+39-333{n:07d}" for n in range(start, start + count)]
    return await client.post(URL, headers=h(alice), json={"sender": "alberto", "body": "Ciao", "recipients": numbers})


async def test_weights_three_to_one_split_four_thousand_messages(client, core, alice, pair) -> None:
    first, second = pair
    for batch in range(40):
        r = await send(client, alice, 100, start=batch * 100)
        assert r.status_code == 201, r.text
    split = await by_connector(core)
    assert split[first] + split[second] == 4000
    assert abs(split[first] - 3000) <= 150 and abs(split[second] - 1000) <= 50  # within ±5 %
    assert split[first] == 3000  # smooth weighted round robin is exact


async def test_a_connector_that_is_down_is_skipped_and_none_up_is_refused_at_once(client, core, alice, pair) -> None:
    first, second = pair
    await set_up(core, alice.id, first, False)
    r = await send(client, alice, 100)
    assert r.status_code == 201, r.text
    assert await by_connector(core) == Counter({second: 100})

    await set_up(core, alice.id, second, False)
    r = await send(client, alice, 5, start=100)
    assert r.status_code == 422
    assert r.json()["error"] == 305 and "down" in r.json()["message"]
    assert await by_connector(core) == Counter({second: 100})  # nothing of the refused request was written

    nusa = await client.get("/api/v3/sendsms/plain", params={"user": alice.email, "password": alice.password,
                                                              "SMSText": "Halo", "GSM": "+393331234567",
                                                              "output": "json"})  # fmt: skip
    assert nusa.json()["results"][0]["status"] == "-88"


async def test_a_connector_with_too_much_waiting_is_skipped(client, core, alice) -> None:
    full = await connector(core, alice.id, "full")
    spare = await connector(core, alice.id, "spare")
    async with core.unit() as unit:
        await unit.conn.execute(
            records.connectors.update().where(records.connectors.c.id == full)
            .values(config={**(await records.get(unit, alice.id, full)).config, "max_queue": 10}, queue_depth=10)
        )  # fmt: skip
        await routes.add(unit, alice.id, channel="sms", targets=[(full, 1)])
        await routes.add(unit, alice.id, channel="sms", targets=[(spare, 1)])
    r = await send(client, alice, 3)
    assert r.status_code == 201, r.text
    assert await by_connector(core) == Counter({spare: 3})  # the next route took them


async def test_prefixes_and_otp_choose_the_route(client, core, alice) -> None:
    italy = await connector(core, alice.id, "italy")
    otp = await connector(core, alice.id, "otp")
    async with core.unit() as unit:
        await routes.add(unit, alice.id, channel="sms", targets=[(otp, 1)], otp=True)
        await routes.add(unit, alice.id, channel="sms", targets=[(italy, 1)], prefixes=["+39"])
    assert (await send(client, alice, 2)).status_code == 201
    r = await client.post(URL, headers=h(alice), json={"sender": "alberto", "body": "Hallo",
                                                       "recipients": ["+49-15112345678"]})
    assert r.status_code == 422 and r.json()["error"] == 305 and "No route" in r.json()["message"]
    nusa = await client.get("/api/v3/sendsms/plain", params={"user": alice.email, "password": alice.password,
                                                              "SMSText": "Kode 1234", "GSM": "+4915112345678",
                                                              "otp": "Y", "output": "json"})  # fmt: skip
    assert nusa.json()["results"][0]["status"] == "0"
    assert await by_connector(core) == Counter({italy: 2, otp: 1})


async def test_scheduled_messages_are_routed_when_due_and_refused_when_nothing_is_up(core) -> None:  # noqa: ANN001
    account = await make_account(core, "sched@example.com")
    carrier = await connector(core, account.id, "carrier")
    async with core.unit() as unit:
        await routes.add(unit, account.id, channel="sms", targets=[(carrier, 1)])
    async with core.unit() as unit:
        acct = await accounts.get(unit, account.id)
        due = utcnow() + timedelta(minutes=5)
        drafts = [messages_mod.Draft(recipient=f"+3933300000{i}", body="later", due_at=due) for i in range(2)]
        accepted = await messages_mod.submit(unit, acct, drafts)
    assert accepted.states == [lifecycle.SCHEDULED, lifecycle.SCHEDULED]
    async with core.unit() as unit:
        await queue.promote_due(unit, now=due)
    async with core.reader() as unit:
        first = await messages_mod.get(unit, account.id, accepted.ids[0])
    assert (first.state, first.connector_id) == (lifecycle.QUEUED, carrier)

    async with core.unit() as unit:
        later = utcnow() + timedelta(minutes=10)
        accepted = await messages_mod.submit(unit, acct, [messages_mod.Draft(recipient="+393330000009", body="x",
                                                                             due_at=later)])  # fmt: skip
    await set_up(core, account.id, carrier, False)
    async with core.unit() as unit:
        await queue.promote_due(unit, now=later)
    async with core.reader() as unit:
        refused = await messages_mod.get(unit, account.id, accepted.ids[0])
    assert (refused.state, refused.reason, refused.error) == (lifecycle.FAILED, "rejected", "no route")
