"""An accepted message survives ``kill -9`` of the server that accepted it.

A real ``postino serve`` process takes ``addsms``; the moment its answer (with the id)
arrives, the process is SIGKILLed: no shutdown, no flush. After a restart every id ever
answered must still be there. Several rounds, so a kill lands at different moments.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from postino.core.devices import devices
from postino.core.service import Core
from tests.support import ServerProcess, run_cli

ROUNDS = 3
PER_ROUND = 4


async def test_acknowledged_addsms_survives_sigkill(core: Core, database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "server"
    created = run_cli(
        "accounts", "create", "--email", "crash@example.com", "--password", "crash-pass-1", "--country", "IT",
        "--json", "--data-dir", str(data_dir), "--database-url", database_url,
    )
    account = json.loads(created.stdout)
    async with core.unit() as unit:
        device, _token = await devices.register(unit, account["id"], name="crash phone")

    server = ServerProcess(data_dir, database_url)
    acknowledged: list[int] = []
    try:
        for round_no in range(ROUNDS + 1):
            server.start()
            with httpx.Client(base_url=server.url, timeout=10) as http:
                _assert_all_there(http, account["sg24_token"], acknowledged)
                if round_no == ROUNDS:
                    break
                for i in range(PER_ROUND):
                    answer = http.post(
                        "/getdata/addsms",
                        data={"token": account["sg24_token"], "sendto": "+393491234567",
                              "body": f"round {round_no} message {i}", "device_id": device.id},
                    ).json()
                    assert answer["error"] == 0, answer
                    acknowledged.append(answer["sms_id"])
            server.kill()  # right after the last answer: no shutdown, no flush
    finally:
        server.stop()
    assert len(set(acknowledged)) == ROUNDS * PER_ROUND


def _assert_all_there(http: httpx.Client, token: str, acknowledged: list[int]) -> None:
    """Every id the server ever answered is known, still pending (no phone runs)."""
    for sms_id in acknowledged:
        status = http.get("/getdata/getsmsstatus", params={"token": token, "sms_id": sms_id}).json()
        assert status == {"error": 0, "message": "OK", "sms_id": sms_id, "status": 1, "status_description": "pending"}
    counted = http.get("/getdata/getallsms", params={"token": token, "onlycount": 1}).json()
    assert counted == {"error": 0, "message": "OK", "count": len(acknowledged)}
