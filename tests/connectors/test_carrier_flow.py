"""Messages out through a carrier: MessaggiSMS and NusaSMS over SMPP to a real SMSC process.

A real ``postino serve`` binds to a real ``postino smsc simulate``; the SMSC's event log
shows what reached it (source address and its TON/NPI, the text), and its receipts come
back through the same lifecycle a phone's reports use.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from postino.connectors.kinds import KINDS
from postino.core.messages import messages
from postino.core.routing import connectors as records
from postino.core.routing import routes
from tests.conftest import make_account
from tests.connectors.smsc import SmscProcess
from tests.support import ServerProcess, wait_for

ENV = {"POSTINO_ALLOW_PRIVATE_URLS": "true", "POSTINO_SECRET_KEY": "test-secret"}


async def add_smpp(core, account_id: int, smsc: SmscProcess, name: str = "carrier", **extra) -> int:  # noqa: ANN001
    config, secrets = KINDS["smpp"].parse({**smsc.settings(), **extra})
    async with core.unit() as unit:
        record = await records.add(unit, account_id, name=name, kind="smpp", config=config, secrets=secrets)
    return record.id


async def add_route(core, account_id: int, *targets: tuple[int, int], **options) -> int:  # noqa: ANN001
    async with core.unit() as unit:
        return (await routes.add(unit, account_id, channel="sms", targets=list(targets), **options)).id


async def wait_bound(core, account_id: int, connector_id: int) -> None:  # noqa: ANN001
    async def up() -> bool:
        async with core.reader() as unit:
            return (await records.get(unit, account_id, connector_id)).up()

    await wait_for(up, timeout=30, message="connector bound")


async def state_of(core, account_id: int, message_id: int) -> str:  # noqa: ANN001
    async with core.reader() as unit:
        return (await messages.get(unit, account_id, message_id)).state


@pytest.fixture
def smsc(tmp_path: Path):  # noqa: ANN201
    process = SmscProcess(tmp_path / "smsc", "--receipt-delay", "0.2").start()
    yield process
    process.stop()


async def test_messaggisms_sender_reaches_the_smsc_and_the_receipt_comes_back(
    core, alice, database_url, smsc, tmp_path: Path
) -> None:
    connector_id = await add_smpp(core, alice.id, smsc)
    await add_route(core, alice.id, (connector_id, 1))
    server = ServerProcess(tmp_path / "server", database_url, env=ENV).start()
    try:
        await wait_bound(core, alice.id, connector_id)
        headers = {"Authorization": f"Bearer {alice.bearer_token}"}
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:
            r = await http.post("/messages/", json={"sender": "alberto", "body": "Ciao dal carrier",
                                                    "recipients": ["+39-3331234567"]})
            assert r.status_code == 201, r.text
            mid = r.json()["data"][0]["id"]

            async def delivered() -> dict | None:
                item = (await http.get(f"/messages/{mid}/recipients/")).json()["data"][0]
                return item if item["state"] == "DELIVERED" else None

            item = await wait_for(delivered, timeout=30, message="recipient DELIVERED")
            metrics = (await http.get("/metrics")).text
        labels = f'account="{alice.id}",connector="carrier"'
        assert f'postino_connector_bound{{{labels},state="bound"}} 1.0' in metrics
        assert f"postino_connector_submitted_total{{{labels}}} 1.0" in metrics
        assert f'postino_connector_receipts_total{{{labels},matched="yes"}} 1.0' in metrics
        assert f"postino_connector_window_in_use{{{labels}}} 0.0" in metrics
        [submit] = smsc.events("submit_sm")
        assert (submit["source_addr"], submit["source_addr_ton"], submit["source_addr_npi"]) == ("alberto", 5, 0)
        assert submit["destination_addr"] == "393331234567" and submit["text"] == "Ciao dal carrier"
        assert submit["registered_delivery"] == 1 and submit["data_coding"] == 0
        assert item["number"] == "+39-3331234567"
    finally:
        server.stop()


ITALIAN = ("Gentile cliente, la sua fattura di marzo è pronta: importo 49,90 € da pagare entro il 15. "
           "Può consultarla nell'area riservata 😀 oppure rispondere a questo messaggio per ricevere "
           "assistenza. Grazie per aver scelto il nostro servizio, più veloce e più sicuro: ogni mese "
           "migliaia di famiglie italiane ci affidano le loro bollette. A presto, il servizio clienti è "
           "sempre al suo fianco. Cordiali saluti.")


async def test_nusasms_otp_goes_by_its_own_route_and_reports_delivered(
    core, database_url, smsc, tmp_path: Path
) -> None:
    ida = await make_account(core, "ida@example.co.id", "ida password 1", country="ID", timezone="Asia/Jakarta")
    bulk = await add_smpp(core, ida.id, smsc, "bulk")
    otp = await add_smpp(core, ida.id, smsc, "otp", default_sender="NUSAOTP")
    await add_route(core, ida.id, (bulk, 1), prefixes=["62"])
    await add_route(core, ida.id, (otp, 1), otp=True, position=1)
    server = ServerProcess(tmp_path / "server", database_url, env=ENV).start()
    try:
        await wait_bound(core, ida.id, bulk)
        await wait_bound(core, ida.id, otp)
        creds = {"user": ida.email, "password": ida.password, "output": "json"}
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            r = await http.get("/api/v3/sendsms/plain", params={**creds, "SMSText": "Kode OTP anda 123456",
                                                                  "GSM": "085100803380", "otp": "Y"})
            [result] = r.json()["results"]
            assert result["status"] == "0", r.text
            ref = result["messageid"]
            r = await http.get("/api/v3/sendsms/plain", params={**creds, "SMSText": "Promo bulan ini",
                                                                  "GSM": "085100803381"})
            assert r.json()["results"][0]["status"] == "0", r.text
            bulk_ref = r.json()["results"][0]["messageid"]

            async def dr(message_id: str) -> str:
                answer = await http.get("/api/command", params={**creds, "cmd": "DR", "ref_no": message_id})
                return answer.json()["results"][0]["dr_status"]

            for message_id in (ref, bulk_ref):
                await wait_for(lambda m=message_id: _is(dr(m), "DELIVERED"), timeout=30, message="DR DELIVERED")
        async with core.reader() as unit:
            assert (await messages.get(unit, ida.id, int(ref))).connector_id == otp
            assert (await messages.get(unit, ida.id, int(bulk_ref))).connector_id == bulk
        texts = {e["text"]: e for e in smsc.events("submit_sm")}
        assert texts["Kode OTP anda 123456"]["source_addr"] == "NUSAOTP"
        assert texts["Kode OTP anda 123456"]["destination_addr"] == "6285100803380"
    finally:
        server.stop()


async def _is(value, wanted: str) -> bool:  # noqa: ANN001
    return (await value) == wanted


@pytest.fixture
def decimal_smsc(tmp_path: Path):  # noqa: ANN201
    """An SMSC whose receipts name ids in decimal although submit_sm_resp gave them in hex."""
    process = SmscProcess(tmp_path / "smsc", "--receipt-delay", "0.1", "--receipt-id-form", "decimal").start()
    yield process
    process.stop()


async def test_long_texts_go_as_numbered_parts_and_inbound_parts_arrive_as_one(
    core, alice, database_url, decimal_smsc, tmp_path: Path
) -> None:
    smsc = decimal_smsc
    connector_id = await add_smpp(core, alice.id, smsc)
    await add_route(core, alice.id, (connector_id, 1))
    server = ServerProcess(tmp_path / "server", database_url, env=ENV).start()
    try:
        await wait_bound(core, alice.id, connector_id)
        headers = {"Authorization": f"Bearer {alice.bearer_token}"}
        gsm = "Codici {promo}: [A] e [B] ~ validi " + "x" * 130  # 6 extension characters count twice: 172 septets
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:
            ids = []
            for body in (ITALIAN, gsm):
                r = await http.post("/messages/", json={"sender": "alberto", "body": body,
                                                        "recipients": ["+39-3331234567"]})
                assert r.status_code == 201, r.text
                ids.append(r.json()["data"][0]["id"])

            async def delivered(mid: str) -> bool:
                item = (await http.get(f"/messages/{mid}/recipients/")).json()["data"][0]
                return item["state"] == "DELIVERED" and item

            italian = await wait_for(lambda: delivered(ids[0]), timeout=30, message="Italian text delivered")
            await wait_for(lambda: delivered(ids[1]), timeout=30, message="GSM text delivered")
        assert italian["sms"] == 6  # 400 characters with an emoji: UCS-2, 67 units a part
        parts = [e for e in smsc.events("submit_sm") if e["data_coding"] == 8]
        assert [(p["udh"]["seq"], p["udh"]["total"]) for p in parts] == [(n, 6) for n in range(1, 7)]
        assert len({p["udh"]["ref"] for p in parts}) == 1 and all(p["esm_class"] == 0x40 for p in parts)
        assert "".join(p["text"] for p in parts) == ITALIAN
        gsm_parts = [e for e in smsc.events("submit_sm") if e["data_coding"] == 0]
        assert [p["udh"]["total"] for p in gsm_parts] == [2, 2]  # 172 septets > 160: two parts of 153
        assert "".join(p["text"] for p in gsm_parts) == gsm
        # every part's receipt (ids in decimal, resp in hex) matched: the message is delivered.
        # The SMSC logs a receipt once answered, which follows the write that made it "delivered".
        await wait_for(lambda: len(smsc.events("receipt")) == 8, timeout=10, message="8 receipts answered")

        long_inbound = "Vorrei sapere " + "quando arriva il mio ordine numero 4471, grazie mille " * 6
        smsc.command(deliver={"from": "+393339876543", "to": "alberto", "text": long_inbound})

        async def inbound() -> list[dict]:
            answer = httpx.get(server.url + "/getdata/getallsms", params={"token": alice.sg24_token, "status": 5})
            return list((answer.json().get("smss") or {}).values())

        [received] = await wait_for(inbound, timeout=30, message="inbound message listed by SG24")
        assert (received["body"], received["status"], received["sendto"]) == (long_inbound, 5, "+393339876543")
        parts = await wait_for(lambda: [e["udh"]["seq"] for e in smsc.events("deliver")], timeout=10,
                               message="the parts answered")  # fmt: skip
        await wait_for(lambda: len(smsc.events("deliver")) == 3, timeout=10, message="3 parts answered")
        assert sorted(e["udh"]["seq"] for e in smsc.events("deliver")) == [1, 2, 3] and parts
    finally:
        server.stop()


async def test_stop_over_smpp_opts_the_number_out_and_the_reply_goes_back_through_the_carrier(
    core, alice, database_url, smsc, tmp_path: Path
) -> None:
    from postino.core.contacts import optouts

    connector_id = await add_smpp(core, alice.id, smsc, default_sender="ACME")
    await add_route(core, alice.id, (connector_id, 1))
    async with core.unit() as unit:
        await optouts.configure(unit, alice.id, replies={"any-stop": "Non riceverai altri messaggi."})
    server = ServerProcess(tmp_path / "server", database_url, env=ENV).start()
    try:
        await wait_bound(core, alice.id, connector_id)
        smsc.command(deliver={"from": "+393335550101", "to": "ACME", "text": "  Stop "})

        async def opted_out() -> bool:
            async with core.reader() as unit:
                return "+393335550101" in await optouts.opted_out_among(unit, alice.id, ["+393335550101"])

        await wait_for(opted_out, timeout=30, message="the number opted out")
        reply = await wait_for(lambda: [e for e in smsc.events("submit_sm") if e["destination_addr"] == "393335550101"],
                               timeout=30, message="the auto-reply at the SMSC")  # fmt: skip
        assert [(e["text"], e["source_addr"]) for e in reply] == [("Non riceverai altri messaggi.", "ACME")]
    finally:
        server.stop()
