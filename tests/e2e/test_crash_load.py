"""``kill -9`` of the server under a steady send load loses nothing and sends nothing twice.

A few clients post SmsGateway24 ``addsms`` without pause to a real ``postino serve``
while two simulated phones deliver. At random moments (after a random number of
answers) the server is SIGKILLed and started again, five times. Afterwards every id the
server ever answered is ``delivered``, and the phones' own sent log (one line per SMS
that left a phone) shows each of them exactly once: no loss, no double send. Only the
server is killed; a phone killed mid-send may legitimately send twice.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import func, select

from postino.core.devices import devices
from postino.core.service import Core
from postino.db.tables import messages as messages_table
from postino.simulator.sentlog import read_sent_log
from tests.support import ServerProcess, SimulatorProcess, run_cli, wait_for

KILLS = 5
CLIENTS = 3
ANSWERS_BETWEEN_KILLS = (15, 90)
"""Each kill comes after a random count of new answers in this range (a random moment)."""


async def test_sigkill_under_load_loses_nothing_and_sends_each_message_once(
    core: Core, database_url: str, tmp_path: Path
) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"random seed {seed}")
    data_dir = tmp_path / "server"
    created = run_cli(
        "accounts", "create", "--email", "load@example.com", "--password", "load-pass-1", "--country", "IT",
        "--json", "--data-dir", str(data_dir), "--database-url", database_url,
    )
    account = json.loads(created.stdout)
    sent_log = tmp_path / "sent.log"
    server = ServerProcess(data_dir, database_url).start()
    phones = SimulatorProcess(
        server.url, account["device_registration_token"], "--phones", "2", "--latency", "2ms",
        "--poll-every", "500ms", "--sent-log", str(sent_log), workdir=tmp_path / "phones",
    )
    answered: list[int] = []
    up = asyncio.Event()  # set while the server is known to be listening
    up.set()
    stop_load = asyncio.Event()
    try:
        phones.start()
        async with core.reader() as unit:
            device_ids = [d.id for d in await devices.list_for(unit, account["id"])]
        assert len(device_ids) == 2

        async def client(number: int) -> None:
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
                sent = 0
                while not stop_load.is_set():
                    await up.wait()
                    form = {
                        "token": account["sg24_token"], "sendto": f"+39349{number:03d}{sent:04d}",
                        "body": f"client {number} message {sent}", "device_id": device_ids[sent % 2],
                    }
                    sent += 1
                    try:
                        answer = (await http.post("/getdata/addsms", data=form)).json()
                    except httpx.TransportError:
                        continue  # the server died under us: that message was never answered
                    assert answer["error"] == 0, answer
                    answered.append(answer["sms_id"])

        clients = [asyncio.create_task(client(n)) for n in range(CLIENTS)]
        for _ in range(KILLS):
            target = len(answered) + rng.randint(*ANSWERS_BETWEEN_KILLS)
            await wait_for(lambda: len(answered) >= target or _failed(clients), timeout=30,
                           message=f"{target} answered sends")
            up.clear()
            server.kill()
            await asyncio.to_thread(server.start)
            up.set()
        target = len(answered) + ANSWERS_BETWEEN_KILLS[0]
        await wait_for(lambda: len(answered) >= target or _failed(clients), timeout=30, message="sends after the last restart")
        stop_load.set()
        await asyncio.gather(*clients)

        async def all_delivered() -> bool:
            states = await _states(core, answered)
            return len(states) == len(set(answered)) and set(states.values()) == {"delivered"}

        await wait_for(all_delivered, timeout=60, interval=0.2, message="every answered message to be delivered")
        await wait_for(lambda: _everything_finished(core, account["id"]), timeout=30, interval=0.2,
                       message="unanswered but stored messages to be delivered too")
    finally:
        stop_load.set()
        phones.stop()
        server.stop()

    assert len(answered) == len(set(answered)) > KILLS * ANSWERS_BETWEEN_KILLS[0]
    sends = Counter(int(i) for i in read_sent_log(sent_log))
    twice = {i: n for i, n in sends.items() if n > 1}
    assert not twice, f"sent more than once: {twice}"
    missing = [i for i in answered if sends[i] != 1]
    assert not missing, f"answered but never sent: {missing}"


def _failed(tasks: list[asyncio.Task]) -> bool:
    """A client that stopped early (an unexpected answer) ends the wait at once; gather reports it."""
    return any(t.done() for t in tasks)


async def _states(core: Core, ids: list[int]) -> dict[int, str]:
    async with core.reader() as unit:
        rows = await unit.conn.execute(
            select(messages_table.c.id, messages_table.c.state).where(messages_table.c.id.in_(ids))
        )
        return {r.id: r.state for r in rows}


async def _everything_finished(core: Core, account_id: int) -> bool:
    """Every stored message of the account, answered or not (killed before the answer), delivered."""
    async with core.reader() as unit:
        rows = await unit.conn.execute(
            select(messages_table.c.state, func.count())
            .where(messages_table.c.account_id == account_id)
            .group_by(messages_table.c.state)
        )
        return {r[0] for r in rows} == {"delivered"}
