"""Sends that arrive together: each is answered with its own message, stored once, charged once."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import func, select

from postino.db.tables import batches, messages, quota_marks

URL = "/messages/"
AT_ONCE = 60
"""Past the connection pool (40 on SQLite, 30 on PostgreSQL): a send holds its connection while
routing loads the account's routes, and the load must not queue behind the sends for one."""


def _send(client, h, i: int, **extra):  # noqa: ANN001, ANN003, ANN202
    body = {"sender": "alberto", "body": f"Codice {i:06d}", "recipients": [f"+39-349{i:07d}"], **extra}
    return client.post(URL, json=body, headers=h)


async def test_many_sends_at_once_are_each_answered_stored_and_charged(client, core, alice, phone, h) -> None:
    answers = await asyncio.gather(*(_send(client, h, i) for i in range(AT_ONCE)))

    assert [(r.status_code, r.json()["message"]) for r in answers] == [(201, "Message Queued")] * AT_ONCE
    sent = [r.json()["data"][0] for r in answers]
    assert len({m["id"] for m in sent}) == AT_ONCE
    assert [m["body"] for m in sent] == [f"Codice {i:06d}" for i in range(AT_ONCE)]
    assert all(m["statistics"]["sms_total"] == 1 for m in sent)
    for m in sent:  # each answer's id names its own message
        got = (await client.get(f"{URL}{m['id']}/", headers=h)).json()["data"][0]
        assert (got["id"], got["body"], got["recipients"]["valid"]["count"]) == (m["id"], m["body"], 1)
    async with core.reader() as unit:
        stored = (await unit.conn.execute(
            select(messages.c.recipient, batches.c.public_id, messages.c.state)
            .join(batches, batches.c.id == messages.c.batch_id).order_by(messages.c.recipient))).all()
    assert [(r.recipient, r.state) for r in stored] == [(f"+39349{i:07d}", "queued") for i in range(AT_ONCE)]
    assert {r.public_id for r in stored} == {m["id"] for m in sent}
    # Every answer carries the credit as it stood after its own debit was committed.
    credits = sorted(Decimal(r.json()["credit"]) for r in answers)
    assert credits[0] == Decimal("100") - AT_ONCE * Decimal("0.045")
    assert all(c <= Decimal("100") - Decimal("0.045") for c in credits)
    assert Decimal((await client.get(URL, headers=h)).json()["credit"]) == Decimal("97.3")


async def test_two_realtime_sends_at_once_get_one_quota(client, core, alice, phone, h) -> None:
    answers = await asyncio.gather(*(_send(client, h, i, options={"realtime": True}) for i in range(2)))

    assert sorted((r.status_code, r.json()["error"]) for r in answers) == [(201, None), (429, 230)]
    async with core.reader() as unit:
        count = await unit.conn.scalar(select(func.count()).select_from(messages))
        marks = await unit.conn.scalar(select(func.count()).select_from(quota_marks))
        opened = await unit.conn.scalar(select(func.count()).select_from(batches))
    assert (count, marks, opened) == (1, 1, 1)  # the refused send left no batch, mark nor message
