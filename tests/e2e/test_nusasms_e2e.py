"""NusaSMS WhatsApp through a real ``postino serve`` and a real simulated phone (slot 2).

The phone protocol reports Processed/Sent/Delivered/Failed; it has no "read", so the
read receipt (R) is recorded through core on the shared database, as a WhatsApp
connector would.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import httpx

from postino.core.accounts import billing
from postino.core.messages import lifecycle
from tests.support import ServerProcess, SimulatorProcess, wait_for

FAST = ("--latency", "10ms", "--poll-every", "200ms")
BASE = "/nusasms_api/1.0"


async def test_whatsapp_walks_q_s_d_r_and_a_failure_is_refunded(core, alice, database_url, tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server", database_url).start()
    phone = SimulatorProcess(server.url, alice.device_registration_token, "--slots", "0,2", *FAST, workdir=tmp_path / "phone")
    headers = {"APIKey": alice.api_key}
    try:
        phone.start()
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:

            async def send(text: str) -> str:
                r = await http.post(f"{BASE}/whatsapp/message", headers=headers, json={"destination": "6281234567890", "message": text})
                assert r.status_code == 201, r.text
                return r.json()["data"]["ref_no"]

            async def status(ref: str) -> str:
                r = await http.get(f"{BASE}/whatsapp/status/{ref}", headers=headers)
                return r.json()["data"]["status"]

            seen: list[str] = []

            async def watch(ref: str, final: str) -> bool:
                letter = await status(ref)
                if not seen or seen[-1] != letter:
                    seen.append(letter)
                return letter == final

            ok = await send("hello over WhatsApp")
            await wait_for(lambda: watch(ok, "D"), timeout=20, interval=0.06, message="WhatsApp message delivered")
            assert seen[-1] == "D" and set(seen) <= {"Q", "S", "D"}
            async with core.unit() as unit:
                assert await lifecycle.move(unit, [int(ok)], lifecycle.READ)
            assert await status(ok) == "R"

            failing = await send("this one #fail")
            await wait_for(lambda: watch(failing, "F"), timeout=20, interval=0.06, message="failing message to be F")
        async with core.reader() as unit:
            assert (await billing.balance(unit, alice.id, "wa")).amount == Decimal("99")  # only the delivered one paid
    finally:
        phone.stop()
        server.stop()
