"""SMPP across failures: the SMSC dropping the line with the window full, and Postino killed mid-stream.

Real processes only: ``postino serve`` bound to ``postino smsc simulate``. The SMSC's event
log says which submit_sm it answered; a message is "sent twice after a submit_sm_resp"
if two of its submits were answered.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import select

from postino.db.tables import messages
from postino.dispatch.connectors import CLAIM_AT_ONCE
from tests.connectors.smsc import SmscProcess
from tests.connectors.test_carrier_flow import ENV, add_route, add_smpp, wait_bound
from tests.support import ServerProcess, wait_for


def recipients(count: int) -> list[dict]:
    return [{"number": f"+39-333{n:07d}", "fields": {"n": str(n)}} for n in range(count)]


def answered(smsc: SmscProcess) -> Counter:
    return Counter(e["text"] for e in smsc.events("submit_sm") if e["status"] == "ESME_ROK")


async def delivered_count(http: httpx.AsyncClient, mid: str) -> int:
    return (await http.get(f"/messages/{mid}")).json()["data"][0]["statistics"]["delivered"]


async def test_the_smsc_dropping_the_line_with_fifty_in_the_window_loses_none_and_doubles_none(
    core, alice, database_url, tmp_path: Path
) -> None:
    smsc = SmscProcess(tmp_path / "smsc", "--receipt-delay", "0.05", "--disconnect-after", "120",
                       "--hold", "50").start()  # fmt: skip
    connector_id = await add_smpp(core, alice.id, smsc, window=50)
    await add_route(core, alice.id, (connector_id, 1))
    server = ServerProcess(tmp_path / "server", database_url, env=ENV).start()
    try:
        await wait_bound(core, alice.id, connector_id)
        headers = {"Authorization": f"Bearer {alice.bearer_token}"}
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:
            r = await http.post("/messages/", json={"sender": "alberto", "body": "Messaggio {{n}}",
                                                    "recipients": recipients(300)})
            assert r.status_code == 201, r.text
            mid = r.json()["data"][0]["id"]
            await wait_for(lambda: _at_least(delivered_count(http, mid), 300), timeout=60, message="300 delivered")
        [drop] = smsc.events("disconnect")
        assert drop["held"] == 50  # fifty submit_sm were in the window, never answered
        unanswered = [e["text"] for e in smsc.events("submit_sm") if e["status"] is None]
        assert len(unanswered) == 50
        sent = answered(smsc)
        assert set(sent) == {f"Messaggio {n}" for n in range(300)}  # none lost: the fifty went again
        assert max(sent.values()) == 1  # none answered twice
        assert len(smsc.events("bind")) >= 2  # it bound again by itself
    finally:
        server.stop()
        smsc.stop()


async def _at_least(value, wanted: int) -> bool:  # noqa: ANN001
    return (await value) >= wanted


async def test_postino_killed_mid_stream_loses_none(core, alice, database_url, tmp_path: Path) -> None:
    smsc = SmscProcess(tmp_path / "smsc", "--receipt-delay", "0.05").start()
    connector_id = await add_smpp(core, alice.id, smsc, window=10, tps=300)
    await add_route(core, alice.id, (connector_id, 1))
    env = {**ENV, "POSTINO_CONNECTOR_LEASE_SECONDS": "3"}
    server = ServerProcess(tmp_path / "server", database_url, env=env).start()
    try:
        await wait_bound(core, alice.id, connector_id)
        headers = {"Authorization": f"Bearer {alice.bearer_token}"}
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:
            r = await http.post("/messages/", json={"sender": "alberto", "body": "Messaggio {{n}}",
                                                    "recipients": recipients(1000)})
            assert r.status_code == 201, r.text
            mid = r.json()["data"][0]["id"]
        wait_for_answers = lambda: sum(answered(smsc).values()) >= 300  # noqa: E731
        await wait_for(wait_for_answers, timeout=60, message="300 submits answered")
        server.kill()
        before = answered(smsc)
        assert sum(before.values()) < 1000  # killed mid-stream
        async with core.reader() as unit:
            recorded = set((await unit.conn.execute(
                select(messages.c.body).where(messages.c.account_id == alice.id, messages.c.sent_at.is_not(None))
            )).scalars())  # fmt: skip
        server = ServerProcess(tmp_path / "server", database_url, env=env).start()
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:
            await wait_for(lambda: _at_least(delivered_count(http, mid), 1000), timeout=90, message="1000 delivered")
        sent = answered(smsc)
        assert set(sent) == {f"Messaggio {n}" for n in range(1000)}  # none lost
        twice = {text for text, n in sent.items() if n > 1}
        # What went twice is only what was in flight at the kill: the SMSC had answered it,
        # Postino had not yet stored the answer. None whose answer was stored went again.
        assert not twice & recorded
        assert len(twice) <= CLAIM_AT_ONCE + 10, twice  # never more than one node holds at once
    finally:
        server.stop()
        smsc.stop()
