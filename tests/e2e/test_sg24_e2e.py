"""SmsGateway24 end to end: a real ``postino serve``, a real simulated phone, plain HTTP.

The message goes in through ``/getdata/addsms`` on the phone's ``device_id`` (read from
``getalldevices``, as an integrator would) and is followed through ``getsmsstatus`` and
``getallsms`` until the phone reports it delivered (status 7).
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support import ServerProcess, SimulatorProcess, wait_for

FAST = ("--latency", "10ms", "--poll-every", "500ms")


async def test_addsms_to_the_simulated_phone_reaches_delivered(alice, database_url, tmp_path: Path) -> None:  # noqa: ANN001
    server = ServerProcess(tmp_path / "server", database_url).start()
    phone = SimulatorProcess(server.url, alice.device_registration_token, *FAST, workdir=tmp_path / "phone")
    try:
        phone.start()
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            devices = (await http.get("/getdata/getalldevices", params={"token": alice.sg24_token})).json()
            assert devices["error"] == 0 and devices["count"] == 1
            (device,) = devices["device"].values()
            assert device["online"] is True
            assert [s["Slot"] for s in device["siminfo"]] == ["0", "1"]

            sent = (
                await http.post(
                    "/getdata/addsms",
                    data={"token": alice.sg24_token, "sendto": "+393491234567", "body": "Il tuo codice: 4711",
                          "device_id": device["id"], "sim": 0, "urgent": 1},
                )
            ).json()
            assert sent["error"] == 0, sent
            sms_id = sent["sms_id"]

            async def status() -> int:
                answer = (await http.get("/getdata/getsmsstatus", params={"token": alice.sg24_token, "sms_id": sms_id})).json()
                assert answer["error"] == 0, answer
                return answer["status"] == 7 and answer

            delivered = await wait_for(status, timeout=20, interval=0.1, message="status 7 from getsmsstatus")
            assert delivered == {"error": 0, "message": "OK", "sms_id": sms_id, "status": 7, "status_description": "delivered"}

            listed = (await http.get("/getdata/getallsms", params={"token": alice.sg24_token, "timezone": "UTC"})).json()
            entry = listed["smss"][str(sms_id)]
            assert (entry["status"], entry["statustitle"], entry["deviceid"]) == (7, "delivered", device["id"])
            assert entry["senttime"] is not None and entry["senttime"]["timezone"] == "UTC"
            assert entry["urgent"] == 1 and entry["body"] == "Il tuo codice: 4711"
    finally:
        phone.stop()
        server.stop()
