"""Scale-out: several ``postino serve`` processes on one PostgreSQL behave as one gateway.

- two nodes starting together on an empty database both come up (migrations take turns);
- a wake-up published on one node reaches the phones on another (LISTEN/NOTIFY relay),
  also after the relay's connection was cut;
- ``--role api`` answers HTTP without running the clock, ``--role worker`` runs the clock
  and answers only ``/health``: a message scheduled on the api node is promoted by the
  worker, and the phone on the api node hears it at once;
- a bulk of messages (4,000 here; ``POSTINO_TEST_BULK_MESSAGES=20000`` for the full-size
  run) sent through two dispatching nodes with phones on both: each message is handed out
  once (one ``assigned``, one ``taken``), sent once by the phones (their sent logs), and
  none is left behind;
- the NusaSMS rate limit (20 a second per key) holds for the two nodes together (Redis).

PostgreSQL only: an SQLite set-up is one process.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select, text

from postino.core.devices import devices
from postino.core.events.relay import PgRelay
from postino.core.service import Core
from postino.db.tables import message_events
from postino.db.tables import messages as messages_table
from postino.settings import Settings
from postino.simulator.sentlog import read_sent_log
from tests.conftest import ENGINE, AccountInfo, DatabaseFactory
from tests.support import ServerProcess, SimulatorProcess, wait_for

pytestmark = pytest.mark.skipif(
    ENGINE != "postgresql",
    reason="several nodes share one PostgreSQL; an SQLite set-up is a single process (docs/operations.md)",
)

SHARED = {"POSTINO_SECRET_KEY": "two-nodes-share-this-secret"}
"""Nodes of one gateway share the server secret (it signs the URLs phones are given)."""
TOTAL = int(os.environ.get("POSTINO_TEST_BULK_MESSAGES", "4000"))
"""Messages of the bulk test: 4,000 in the suite; ``POSTINO_TEST_BULK_MESSAGES=20000`` for the full-size run."""
CHUNK = min(1_000, TOTAL)


def redis_url() -> str:
    url = os.environ.get("POSTINO_TEST_REDIS_URL", "")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs the multi-node rate-limit test: scripts/test starts Redis (scripts/redis)")
        pytest.skip("no Redis here (POSTINO_TEST_REDIS_URL): scripts/test starts one with scripts/redis")
    return url


def nodes(tmp_path: Path, database_url: str, *roles: str, env: dict | None = None) -> list[ServerProcess]:
    """Start one node per role, all at once, and return when every one is healthy."""
    started = [
        ServerProcess(tmp_path / f"node-{i}", database_url, "--role", role, env={**SHARED, **(env or {})}).launch()
        for i, role in enumerate(roles)
    ]
    try:
        for node in started:
            node.wait_healthy()
    except BaseException:
        for node in started:
            node.stop()
        raise
    return started


async def _internal_ids(core: Core, account_id: int, ext_ids: list[str]) -> list[int]:
    async with core.reader() as unit:
        by_ext = {d.ext_id: d.id for d in await devices.list_for(unit, account_id)}
    return [by_ext[e] for e in ext_ids]


async def test_two_nodes_starting_together_on_an_empty_database_both_come_up(
    db_factory: DatabaseFactory, database_url: str, tmp_path: Path
) -> None:
    empty = f"postino_empty_{uuid.uuid4().hex[:10]}"
    await db_factory._pg_exec(f'CREATE DATABASE "{empty}"')
    url = database_url.rsplit("/", 1)[0] + "/" + empty
    started = nodes(tmp_path, url, "all", "all", "all")
    try:
        for node in started:
            assert httpx.get(node.url + "/health").json()["status"] == "ok"
    finally:
        for node in started:
            node.stop()


async def test_a_wake_up_crosses_to_the_other_node_and_survives_a_cut_connection(settings: Settings, core: Core) -> None:
    other = Core(settings)
    here, there = PgRelay(core.notifier, core.db.url), PgRelay(other.notifier, other.db.url)
    await here.start()
    await there.start()
    inbox = core.notifier.subscribe(("device", 7))
    try:
        other.notifier.publish(("device", 7), "MessageEnqueued")
        assert await asyncio.wait_for(inbox.get(), 10) == ("MessageEnqueued", {})
        core.notifier.publish(("device", 7), "MessageCancelled", {"messageId": "12"})
        assert inbox.get_nowait() == ("MessageCancelled", {"messageId": "12"})  # local, at once

        cut = here._pid
        async with other.unit() as unit:
            await unit.conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": cut})
        # After the gap it wakes its listeners once (they may have missed something) ...
        assert await asyncio.wait_for(inbox.get(), 15) == ("MessageEnqueued", {})
        assert here.connected and here._pid != cut
        # ... and hears the other node again.
        other.notifier.publish(("device", 7), "SettingsUpdated")
        assert await asyncio.wait_for(inbox.get(), 10) == ("SettingsUpdated", {})
        assert inbox.empty()  # nothing came twice (no echo of its own publishes)
    finally:
        core.notifier.unsubscribe(("device", 7), inbox)
        await here.close()
        await there.close()
        await other.db.dispose()


async def test_api_and_worker_roles_split_the_work_and_the_phone_hears_the_worker(
    alice: AccountInfo, database_url: str, tmp_path: Path
) -> None:
    api, worker = nodes(tmp_path, database_url, "api", "worker")
    phone = SimulatorProcess(api.url, alice.device_registration_token, "--latency", "10ms", "--poll-every", "60s",
                             workdir=tmp_path / "phone")
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            assert (await http.get(worker.url + "/health")).json()["status"] == "ok"
            assert (await http.post(worker.url + "/getdata/addsms", data={"token": alice.sg24_token})).status_code == 404
            assert (await http.get(worker.url + "/api/mobile/v1/device")).status_code == 404

            phone.start()
            listed = (await http.get(api.url + "/getdata/getalldevices", params={"token": alice.sg24_token})).json()
            (device,) = listed["device"].values()
            # Due in two seconds: only the worker's clock can queue it; the phone, on the
            # api node and polling once a minute, must hear the worker's wake-up.
            due = (datetime.now(ZoneInfo("Europe/Rome")) + timedelta(seconds=2)).strftime("%Y-%m-%d %H:%M:%S")
            sent = (
                await http.post(
                    api.url + "/getdata/addsms",
                    data={"token": alice.sg24_token, "sendto": "+393491234567", "body": "scheduled",
                          "device_id": device["id"], "timetosend": due},
                )
            ).json()
            assert sent["error"] == 0, sent

            async def status() -> str:
                answer = await http.get(api.url + "/getdata/getsmsstatus",
                                        params={"token": alice.sg24_token, "sms_id": sent["sms_id"]})
                return answer.json()["status_description"]

            await wait_for(lambda: _is(status, "delivered"), timeout=20, interval=0.1,
                           message="the scheduled message to be delivered through the api node's phone")
    finally:
        phone.stop()
        api.stop()
        worker.stop()


async def _is(get, expected: str) -> bool:  # noqa: ANN001
    return await get() == expected


async def test_bulk_over_two_nodes_each_message_handed_out_and_sent_once(
    core: Core, alice: AccountInfo, database_url: str, tmp_path: Path
) -> None:
    first, second = nodes(tmp_path, database_url, "all", "all")
    fleets = [
        SimulatorProcess(node.url, alice.device_registration_token, "--phones", "3", "--latency", "1ms",
                         "--poll-every", "500ms", "--sent-log", str(tmp_path / f"sent-{i}.log"),
                         workdir=tmp_path / f"phones-{i}")
        for i, node in enumerate((first, second))
    ]
    try:
        for fleet in fleets:
            fleet.start()
        phone_ids = [await _internal_ids(core, alice.id, fleet.device_ids) for fleet in fleets]
        targets = [d for pair in zip(*phone_ids) for d in pair]  # alternate: phones of both nodes
        chunks = [
            [
                {"sendto": f"+39340{n:07d}", "body": f"bulk {n}", "device_id": targets[n % len(targets)]}
                for n in range(start, start + CHUNK)
            ]
            for start in range(0, TOTAL, CHUNK)
        ]
        answered: list[int] = []

        async def sender(node: ServerProcess, mine: list[list[dict]]) -> None:
            async with httpx.AsyncClient(base_url=node.url, timeout=60) as http:
                for chunk in mine:
                    datajson = json.dumps({"token": alice.sg24_token, "smsdata": chunk})
                    answer = (await http.post("/getdata/addalotofsms", data={"datajson": datajson})).json()
                    assert answer["error"] == 0 and answer["count"] == CHUNK, answer
                    answered.extend(answer["sms_ids"])

        # Two clients per node; each chunk names phones of both nodes, so wake-ups cross.
        await asyncio.gather(*(
            sender((first, second)[i % 2], chunks[i::4]) for i in range(4)
        ))
        assert len(answered) == len(set(answered)) == TOTAL

        async def delivered() -> int:
            async with core.reader() as unit:
                return await unit.conn.scalar(
                    select(func.count()).where(
                        messages_table.c.account_id == alice.id, messages_table.c.state == "delivered"
                    )
                ) == TOTAL

        await wait_for(delivered, timeout=60 + TOTAL / 40, interval=0.5, message=f"{TOTAL} messages delivered")
    finally:
        for fleet in fleets:
            fleet.stop()
        first.stop()
        second.stop()

    async with core.reader() as unit:
        rows = await unit.conn.execute(
            select(message_events.c.state, func.count(), func.count(func.distinct(message_events.c.message_id)))
            .where(message_events.c.state.in_(("assigned", "taken")))
            .group_by(message_events.c.state)
        )
        handed = {r[0]: (r[1], r[2]) for r in rows}
    assert handed == {"assigned": (TOTAL, TOTAL), "taken": (TOTAL, TOTAL)}, handed
    logs = [read_sent_log(tmp_path / f"sent-{i}.log") for i in range(2)]
    assert all(logs), "the phones of both nodes sent"
    sends = Counter(int(i) for log in logs for i in log)
    assert set(sends) == set(answered) and set(sends.values()) == {1}, {i: n for i, n in sends.items() if n != 1}


async def test_the_nusasms_rate_limit_holds_across_two_nodes(database_url: str, tmp_path: Path) -> None:
    store = redis_url()
    first, second = nodes(tmp_path, database_url, "api", "api", env={"POSTINO_REDIS_URL": store})
    try:
        async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=100)) as http:
            for _attempt in range(5):
                key = f"burst-{uuid.uuid4().hex}"  # a fresh key: a fresh window
                urls = [node.url + "/nusasms_api/1.0/auth/api_key" for node in (first, second)] * 30
                began = time.monotonic()
                answers = await asyncio.gather(*(http.get(u, headers={"APIKey": key}) for u in urls))
                if time.monotonic() - began < 0.9:
                    break  # all 60 hits fell in one second: the limit is exact
            else:
                pytest.fail("could not fit 60 requests into one second on this machine")
    finally:
        first.stop()
        second.stop()
    limited = [a for a in answers if a.status_code == 429]
    let_through = [a for a in answers if a.status_code != 429]
    assert len(let_through) == 20, Counter(a.status_code for a in answers)  # per process it would be 40
    assert {a.status_code for a in let_through} == {401}  # counted first, then the unknown key refused
    for node in (first, second):
        assert sum(1 for a in limited if a.url.port == node.port) >= 10
    assert all("Retry-After" in a.headers for a in limited)
