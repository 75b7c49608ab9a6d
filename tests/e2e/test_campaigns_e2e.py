"""Campaigns end to end: a real ``postino serve`` killed during an expansion, and opt-outs from a real simulated phone."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import func, select

from postino.core.contacts import optouts
from postino.db.tables import campaign_recipients, campaigns, messages
from tests.contacts.helpers import bulk_contacts, new_list, number, phone
from tests.support import ServerProcess, SimulatorProcess, wait_for

FAST = ("--latency", "10ms", "--poll-every", "300ms")
LISTS = ((0, 16_000), (10_000, 26_000), (20_000, 30_000))  # 30,000 numbers in 42,000 entries


async def _row(core, campaign_id: int):  # noqa: ANN001, ANN202
    async with core.reader() as unit:
        return (await unit.conn.execute(select(campaigns).where(campaigns.c.id == campaign_id))).one()


async def test_a_sigkill_during_expansion_then_a_restart_writes_every_number_once(core, alice, database_url, tmp_path: Path) -> None:  # noqa: ANN001, E501
    device = await phone(core, alice.id)
    tags = [await new_list(core, alice.id, f"List {n}") for n in range(len(LISTS))]
    for tag, (first, last) in zip(tags, LISTS):
        await bulk_contacts(core, alice.id, tag, (number(i) for i in range(first, last)))
    env = {"POSTINO_CAMPAIGN_BATCH": "300"}  # small pages: the kill lands between two of many
    server = ServerProcess(tmp_path / "server", database_url, env=env).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            created = await http.post("/api/v1/campaigns", headers={"Authorization": f"Bearer {alice.bearer_token}"},
                                      json={"title": "Crash", "body": "Hello", "lists": tags, "device_id": device})  # fmt: skip
        assert created.status_code == 201, created.text
        campaign_id = created.json()["id"]

        async def under_way() -> bool:
            row = await _row(core, campaign_id)
            assert row.expanded_at is None, "the expansion ended before the kill: use more contacts"
            return row.written >= 3000

        await wait_for(under_way, timeout=60, message="the expansion to be under way")
        server.kill()  # SIGKILL: no shutdown, a page may be half written (and rolled back)
        at_kill = await _row(core, campaign_id)
        assert at_kill.expanded_at is None and 0 < at_kill.written < 30_000

        server = ServerProcess(tmp_path / "server", database_url, env=env).start()

        async def expanded():  # noqa: ANN202
            row = await _row(core, campaign_id)
            return row if row.expanded_at is not None else None

        row = await wait_for(expanded, timeout=120, message="the restarted server to finish the expansion")
    finally:
        server.stop()
    async with core.reader() as unit:
        batch = messages.c.batch_id == row.batch_id
        count, distinct, low, high = (await unit.conn.execute(
            select(func.count(), func.count(func.distinct(messages.c.recipient)), func.min(messages.c.seq),
                   func.max(messages.c.seq)).where(batch)
        )).one()  # fmt: skip
        recipients = await unit.conn.scalar(select(func.count()).where(campaign_recipients.c.campaign_id == campaign_id))
        numbers = set((await unit.conn.execute(select(messages.c.recipient).where(batch))).scalars())
    assert (count, distinct, low, high) == (30_000, 30_000, 0, 29_999)  # no duplicate, no gap
    assert numbers == {number(i) for i in range(30_000)} and recipients == 30_000
    assert (row.written, row.duplicates_skipped, row.contacts) == (30_000, 12_000, 30_000)


async def test_stop_from_the_simulated_phone_opts_out_and_start_brings_the_number_back(
    core, alice, database_url, tmp_path: Path
) -> None:  # noqa: ANN001
    anna = "+393491234567"
    server = ServerProcess(tmp_path / "server", database_url).start()
    workdir = tmp_path / "phone"

    def simulator(text: str) -> SimulatorProcess:
        return SimulatorProcess(server.url, alice.device_registration_token, *FAST, "--inbound-every", "300ms",
                                "--inbound-from", anna, "--inbound-text", text, workdir=workdir)  # fmt: skip

    h = {"Authorization": f"Bearer {alice.bearer_token}"}
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            async def opted_out() -> list[str]:
                return [o["phone"] for o in (await http.get("/api/v1/optouts", headers=h)).json()["data"]]

            stopping = simulator("Stop ").start()
            try:
                assert await wait_for(opted_out, timeout=20, message="the Stop to opt Anna out") == [anna]
            finally:
                stopping.stop()
            device = (await http.get("/api/v1/devices", headers=h)).json()["data"][0]["id"]
            tag = (await http.post("/api/v1/lists", json={"title": "Clienti"}, headers=h)).json()["id"]
            for who in (anna, number(1), number(2)):
                assert (await http.post("/api/v1/contacts", headers=h, json={"list_id": tag, "phone": who})).status_code == 201
            first = (await http.post("/api/v1/campaigns", headers=h,
                                     json={"title": "One", "body": "Hi", "lists": [tag], "device_id": device})).json()  # fmt: skip
            assert (first["total"], first["opted_out"]) == (2, 1)

            starting = simulator("START").start()
            try:
                async def finished() -> dict | None:
                    shown = (await http.get(f"/api/v1/campaigns/{first['id']}", headers=h)).json()
                    return shown if shown["state"] == "finished" else None

                done = await wait_for(finished, timeout=30, message="the phone to deliver the first campaign")
                assert (done["delivered"], done["failed"]) == (2, 0)
                assert await wait_for(lambda: _none(opted_out), timeout=20, message="START to bring Anna back")
            finally:
                starting.stop()
            second = (await http.post("/api/v1/campaigns", headers=h,
                                      json={"title": "Two", "body": "Hi", "lists": [tag], "device_id": device})).json()  # fmt: skip
            assert (second["total"], second["opted_out"]) == (3, 0)
    finally:
        server.stop()
    async with core.reader() as unit:
        history = await optouts.history(unit, alice.id)
    assert [(h["action"], h["keyword"], h["channel"]) for h in history[:2]] == [
        ("opted_out", "STOP", "sms"), ("opted_in", "START", "sms")
    ]


async def _none(check) -> bool:  # noqa: ANN001
    return await check() == []
