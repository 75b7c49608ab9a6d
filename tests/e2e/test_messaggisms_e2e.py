"""MessaggiSMS end to end: a real ``postino serve``, real simulated phones, HTTP only.

A 1,000-recipient transaction is opened, extended by PUT in ten steps, closed, and
delivered by two simulated phones, each recipient with its own body from its fields.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support import ServerProcess, SimulatorProcess, wait_for

# Phone speed: fast enough to stay quick, slow enough that a phone's state reports never
# back up past what one report request may carry on a slow database.
FAST = ("--latency", "30ms", "--poll-every", "200ms", "--phones", "2")
BODY = "Ciao {{name}}, il tuo codice è {{ code }}"


def recipient(i: int) -> dict:
    return {"number": f"+39-349{i:07d}", "fields": {"name": f"Cliente {i}", "code": f"{i:04d}"}}


async def test_thousand_recipient_transaction_is_delivered(core, alice, database_url, tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server", database_url).start()
    phones = SimulatorProcess(server.url, alice.device_registration_token, *FAST, workdir=tmp_path / "phones")
    headers = {"Authorization": f"Bearer {alice.bearer_token}"}
    try:
        phones.start()
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:
            r = await http.post("/messages/", json={"sender": "Postino", "body": BODY, "transaction": True,
                                                    "recipients": [recipient(i) for i in range(100)]})
            assert r.status_code == 201, r.text
            mid = r.json()["data"][0]["id"]
            for step in range(10):
                first = 100 + step * 90
                r = await http.put(f"/messages/{mid}/", json={"recipients": [recipient(i) for i in range(first, first + 90)]})
                assert r.status_code == 200, r.text
            assert r.json()["data"]["recipients"]["valid"]["count"] == 1000
            assert r.json()["data"]["transaction"] is True and r.json()["credit"] == "100"
            r = await http.put(f"/messages/{mid}", json={"transaction": False})
            assert r.status_code == 200, r.text
            assert r.json()["data"]["transaction"] is False
            assert r.json()["credit"] == "55"  # 1000 x 0.045, charged when closed

            progress: list[dict] = []

            async def delivered() -> dict | None:
                m = (await http.get(f"/messages/{mid}")).json()["data"][0]
                progress[:] = [m["statistics"]]
                # state 2 ("done") already holds once every part is sent; wait for the reports too
                return m if m["state"] == 2 and m["statistics"]["delivered"] == 1000 else None

            try:
                m = await wait_for(delivered, timeout=90, interval=0.3, message="1,000 deliveries")
            except AssertionError as exc:
                raise AssertionError(f"{exc}; statistics: {progress}\n{phones.log()[-2000:]}") from None
            assert m["statistics"] == {"error": 0, "sent": 1000, "delivered": 1000, "total": 1000, "sms_total": 1000}
            items = (await http.get(f"/messages/{mid}/recipients/")).json()["data"]
        assert len(items) == 1000
        for i, item in enumerate(items):
            assert item["i"] == i and item["number"] == recipient(i)["number"]
            assert item["body"] == f"Ciao Cliente {i}, il tuo codice è {i:04d}"
            assert item["state"] == "DELIVERED" and item["timestamp_delivery"] is not None
        assert len({item["id"] for item in items}) == 1000
    finally:
        phones.stop()
        server.stop()
