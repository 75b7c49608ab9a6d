"""``kill -9`` of Postino with deliveries pending: a restarted server delivers them, in order."""

from __future__ import annotations

import asyncio
import json

from postino.core.events import webhooks

from ..support import ServerProcess, wait_for
from .helpers import all_settled

ENV = {
    "POSTINO_ALLOW_PRIVATE_URLS": "true",
    "POSTINO_WEBHOOK_BACKOFF_BASE": "0.2",
    "POSTINO_WEBHOOK_TIMEOUT": "2",
}


async def _emit(core, account_id: int, numbers: range) -> None:  # noqa: ANN001
    async with core.unit() as unit:
        for n in numbers:
            await webhooks.emit(unit, account_id, "campaign.finished", {"n": n}, order_key="campaigns")


async def test_pending_deliveries_survive_a_killed_server(tmp_path, database_url, core, alice, receiver) -> None:
    receiver.control({"always": 500})
    async with core.unit() as unit:
        await webhooks.create(unit, alice.id, url=receiver.url + "/k", events=["campaign.finished"])
    env = {**ENV, "POSTINO_SECRET_KEY": core.settings.resolved_secret_key()}  # the key the secret is sealed with
    server = ServerProcess(tmp_path / "server", database_url, env=env)
    await asyncio.to_thread(server.start)
    try:
        await _emit(core, alice.id, range(0, 3))
        await wait_for(lambda: len(receiver.requests()) >= 2, timeout=20, message="failing attempts")
        await asyncio.to_thread(server.kill)
        await _emit(core, alice.id, range(3, 5))  # written while no server runs
        assert (await all_settled(core, 5, "pending")) is not None

        receiver.control({})
        server = ServerProcess(tmp_path / "server", database_url, env=env)
        await asyncio.to_thread(server.start)
        await wait_for(lambda: all_settled(core, 5), timeout=30, message="all delivered after restart")
    finally:
        await asyncio.to_thread(server.stop)

    acked = [json.loads(r["body"])["data"]["n"] for r in receiver.acknowledged()]
    assert acked == [0, 1, 2, 3, 4]  # each once, in order
    assert {r["headers"]["x-postino-delivery"] for r in receiver.requests() if r["status"] == 500} == {
        receiver.acknowledged()[0]["headers"]["x-postino-delivery"]
    }  # while the first kept failing, the ones after it were never tried
