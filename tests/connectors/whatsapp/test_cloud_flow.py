"""WhatsApp out through the Cloud API: a real ``postino serve`` and a real fake Graph API process.

The fake answers sends as Meta does and posts signed status webhooks back to the
connector's webhook URL; what it received is in its event log. NusaSMS and SG24 requests
go out through it and their statuses come back through the same lifecycle as any receipt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import select

from postino.connectors.kinds import KINDS
from postino.core.accounts import billing
from postino.core.messages import messages
from postino.core.routing import connectors as records
from postino.core.routing import routes
from postino.db.tables import fallbacks, message_events
from postino.db.tables import messages as messages_table
from tests.conftest import make_account
from tests.connectors.graph import GraphProcess
from tests.connectors.smsc import SmscProcess
from tests.connectors.test_carrier_flow import wait_bound
from tests.nusasms.conftest import PNG
from tests.sg24.conftest import register_phone
from tests.support import ServerProcess, wait_for

ENV = {"POSTINO_ALLOW_PRIVATE_URLS": "true", "POSTINO_SECRET_KEY": "test-secret"}
BUSINESS = "6281100000001"
NUSA = "/nusasms_api/1.0"


async def add_cloud(core, account_id: int, graph: GraphProcess, name: str = "wa", **extra) -> int:  # noqa: ANN001
    config, secrets = KINDS["whatsapp_cloud"].parse({**graph.settings(), "display_number": BUSINESS, **extra})
    async with core.unit() as unit:
        return (await records.add(unit, account_id, name=name, kind="whatsapp_cloud", config=config, secrets=secrets)).id


async def add_route(core, account_id: int, channel: str, connector_id: int, **options) -> int:  # noqa: ANN001
    async with core.unit() as unit:
        return (await routes.add(unit, account_id, channel=channel, targets=[(connector_id, 1)], **options)).id


def hook(server: ServerProcess, connector_id: int) -> str:
    return f"{server.url}/connectors/whatsapp/{connector_id}/webhook"


async def nusa_status(http: httpx.AsyncClient, key: dict, ref: str) -> dict:
    """``whatsapp/status/{ref}``'s data, asked again while the account's pace (one call per 50 ms) refuses it."""

    async def ask() -> dict | None:
        answer = await http.get(f"{NUSA}/whatsapp/status/{ref}", headers=key)
        if answer.status_code == 429:
            return None
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]

    return await wait_for(ask, timeout=10, interval=0.06, message="status answered")


async def nusa_post(http: httpx.AsyncClient, path: str, key: dict, body: dict) -> httpx.Response:
    """A NusaSMS POST, sent again while the account's pace refuses it (429 writes nothing)."""

    async def send() -> httpx.Response | None:
        answer = await http.post(f"{NUSA}{path}", headers=key, json=body)
        return None if answer.status_code == 429 else answer

    return await wait_for(send, timeout=10, interval=0.06, message="NusaSMS answered")


async def cloud_and_server(core, account_id: int, database_url: str, tmp_path: Path, *fake: str,  # noqa: ANN001
                           **connector) -> tuple[ServerProcess, GraphProcess, int]:
    """A started fake Graph API, a connector to it with a WhatsApp route, and a started server its webhooks reach."""
    server = ServerProcess(tmp_path / "server", database_url, env=ENV)
    graph = GraphProcess(tmp_path / "graph", *fake).start()
    cid = await add_cloud(core, account_id, graph, **connector)
    graph.command(webhook_url=hook(server, cid))
    await add_route(core, account_id, "whatsapp", cid)
    server.start()
    return server, graph, cid


async def indonesian(core):  # noqa: ANN001, ANN201
    return await make_account(core, "ida@example.co.id", "ida password 1", country="ID", timezone="Asia/Jakarta")


async def test_nusasms_and_sg24_whatsapp_go_out_and_reach_delivered_then_read(core, database_url, tmp_path: Path) -> None:
    ida = await indonesian(core)
    cid = await add_cloud(core, ida.id, GraphProcess(tmp_path / "unused"), base_url="http://127.0.0.1:9")
    await add_route(core, ida.id, "whatsapp", cid)
    await add_route(core, ida.id, "whatsapp", cid, slot=2)
    phone = await register_phone(core, ida.id, sim_cards=[{"slotIndex": 0, "simNumber": 1}])
    server = ServerProcess(tmp_path / "server", database_url, env=ENV)
    graph = GraphProcess(tmp_path / "graph", "--fetch-links", "--webhook-url", hook(server, cid),
                         "--delivered-delay", "0.2", "--read-delay", "0.6").start()  # fmt: skip
    async with core.unit() as unit:  # the fake's port is known only now
        record = await records.get(unit, ida.id, cid)
        await records.change(unit, ida.id, cid, config={**record.config, "base_url": graph.base_url})
    server.start()
    try:
        await wait_bound(core, ida.id, cid)
        key = {"APIKey": ida.api_key}
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            text = await nusa_post(http, "/whatsapp/message", key,
                                   {"destination": "6281234567890", "message": "Halo dari Postino"})  # fmt: skip
            assert text.status_code == 201, text.text
            assert text.json()["data"]["sender"] == BUSINESS
            image = await nusa_post(http, "/whatsapp/media", key, {
                "destination": "6281234567891", "caption": "Struk belanja", "file_name": "struk.png",
                "media_base64": base64.b64encode(PNG).decode()})  # fmt: skip
            assert image.status_code == 201, image.text
            stored_url = image.json()["data"]["media_url"]
            by_url = await nusa_post(http, "/whatsapp/media", key, {
                "destination": "6281234567892", "caption": "Lagi", "media_url": stored_url})  # fmt: skip
            assert by_url.status_code == 201, by_url.text
            sg24 = await http.get("/getdata/addsms", params={
                "token": ida.sg24_token, "sendto": "+6281234567893", "body": "Halo lewat slot 2",
                "device_id": phone, "sim": 2})  # fmt: skip
            assert sg24.json()["error"] == 0, sg24.text
            sms_id = sg24.json()["sms_id"]

            refs = [r.json()["data"]["ref_no"] for r in (text, image, by_url)]

            async def read_all() -> list[dict] | None:
                found = [await nusa_status(http, key, ref) for ref in refs]
                return found if all(f["status"] == "R" for f in found) else None

            statuses = await wait_for(read_all, timeout=30, interval=0.2, message="NusaSMS status R")

            async def sg24_read() -> dict | None:
                params = {"token": ida.sg24_token, "sms_id": sms_id}
                answer = (await http.get("/getdata/getsmsstatus", params=params)).json()
                return answer if answer["status"] == 7 else None

            await wait_for(sg24_read, timeout=30, message="SG24 status 7")

            async def read_in_db() -> bool:
                async with core.reader() as unit:
                    return (await messages.get(unit, ida.id, int(sms_id))).state == "read"

            await wait_for(read_in_db, timeout=30, message="the SG24 message read")
        for status in statuses:
            assert status["delivered_date"] and status["read_date"] and status["sent_date"]
        async with core.reader() as unit:
            for mid in [int(r) for r in refs] + [int(sms_id)]:
                row = await messages.get(unit, ida.id, mid)
                assert row.connector_id == cid and row.device_id is None
                steps = [s.state for s in (await unit.conn.execute(
                    select(message_events.c.state).where(message_events.c.message_id == mid)
                    .order_by(message_events.c.id))).all()]  # fmt: skip
                assert steps.index("delivered") < steps.index("read"), steps
        sends = {e["body"]["to"]: e for e in graph.events("send")}
        assert sends["6281234567890"]["body"]["text"] == {"body": "Halo dari Postino", "preview_url": False}
        assert sends["6281234567890"]["body"]["biz_opaque_callback_data"] == refs[0]
        assert sends["6281234567890"]["body"]["messaging_product"] == "whatsapp"
        sent_image = sends["6281234567891"]["body"]
        assert sent_image["type"] == "image" and sent_image["image"]["caption"] == "Struk belanja"
        assert sent_image["image"]["link"].startswith(server.url + "/media/")
        assert sends["6281234567892"]["body"]["type"] == "image"
        assert sends["6281234567893"]["body"]["text"]["body"] == "Halo lewat slot 2"
        fetched = {e["url"]: e for e in graph.events("link_fetched")}
        assert fetched[sent_image["image"]["link"]]["status"] == 200
        assert fetched[sent_image["image"]["link"]]["bytes"] == len(PNG)
    finally:
        server.stop()
        graph.stop()


async def test_a_forged_webhook_changes_nothing_and_the_handshake_needs_the_verify_token(
    core, database_url, tmp_path: Path
) -> None:
    ida = await indonesian(core)
    graph = GraphProcess(tmp_path / "graph")
    cid = await add_cloud(core, ida.id, graph, base_url="http://127.0.0.1:9")
    async with core.unit() as unit:
        draft = messages.Draft(recipient="+6281234567890", body="x", channel="whatsapp", connector_id=cid)
        mid = (await messages.submit(unit, await _account(unit, ida.id), [draft])).ids[0]
        from postino.core.messages import carriers

        await carriers.submitted(unit, cid, [carriers.Submitted(mid, ["wamid.FORGED1"], [["wamid.FORGED1"]], 1)])
    server = ServerProcess(tmp_path / "server", database_url, env=ENV).start()
    try:
        body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
                "value": {"messaging_product": "whatsapp", "statuses": [
                    {"id": "wamid.FORGED1", "status": "delivered", "timestamp": "1700000000", "recipient_id": "6281234567890"}]}}]}]})  # fmt: skip
        good = "sha256=" + hmac.new(graph.app_secret.encode(), body.encode(), hashlib.sha256).hexdigest()
        bad = "sha256=" + hmac.new(b"not the secret", body.encode(), hashlib.sha256).hexdigest()
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            for signature in (bad, None, "sha256=", good[:-2]):
                headers = {"Content-Type": "application/json", **({"X-Hub-Signature-256": signature} if signature else {})}
                r = await http.post(f"/connectors/whatsapp/{cid}/webhook", content=body, headers=headers)
                assert r.status_code == 401
            async with core.reader() as unit:
                assert (await messages.get(unit, ida.id, mid)).state == "sent"
            other = await http.post(f"/connectors/whatsapp/{cid + 1000}/webhook", content=body,
                                    headers={"X-Hub-Signature-256": good})  # fmt: skip
            assert other.status_code == 404
            hub = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
            wrong = await http.get(f"/connectors/whatsapp/{cid}/webhook", params={**hub, "hub.verify_token": "nope"})
            assert wrong.status_code == 403 and "1158201444" not in wrong.text
            right = await http.get(f"/connectors/whatsapp/{cid}/webhook",
                                   params={**hub, "hub.verify_token": graph.verify_token})  # fmt: skip
            assert right.status_code == 200 and right.text == "1158201444"
            ok = await http.post(f"/connectors/whatsapp/{cid}/webhook", content=body,
                                 headers={"X-Hub-Signature-256": good, "Content-Type": "application/json"})  # fmt: skip
            assert ok.status_code == 200
        async with core.reader() as unit:
            assert (await messages.get(unit, ida.id, mid)).state == "delivered"
    finally:
        server.stop()


async def _account(unit, account_id: int):  # noqa: ANN001, ANN202
    from postino.core.accounts import accounts

    return await accounts.get(unit, account_id)


async def test_a_failed_status_refunds_the_wa_credit_and_says_why(core, database_url, tmp_path: Path) -> None:
    ida = await indonesian(core)
    server, graph, cid = await cloud_and_server(core, ida.id, database_url, tmp_path, "--invalid", "62819*",
                                                "--window-closed", "62818*")  # fmt: skip
    try:
        await wait_bound(core, ida.id, cid)
        async with core.reader() as unit:
            before = await billing.balance(unit, ida.id, "wa")
        key = {"APIKey": ida.api_key}
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            refs = []
            for number in ("6281912345678", "6281812345678"):
                r = await nusa_post(http, "/whatsapp/message", key, {"destination": number, "message": "Halo"})
                assert r.status_code == 201, r.text
                refs.append(r.json()["data"]["ref_no"])

            async def failed() -> bool:
                return [(await nusa_status(http, key, ref))["status"] for ref in refs] == ["F", "F"]

            await wait_for(failed, timeout=30, interval=0.2, message="both F")
            check = await nusa_post(http, "/wa_phone_check", key, {"phone_numbers": ["6281912345678"]})
            assert check.status_code == 201
        async with core.reader() as unit:
            invalid = await messages.get(unit, ida.id, int(refs[0]))
            closed = await messages.get(unit, ida.id, int(refs[1]))
            after = await billing.balance(unit, ida.id, "wa")
            from postino.core.routing import whatsapp

            known = await whatsapp.known(unit, ida.id, ["6281912345678"])
        assert (invalid.state, invalid.reason) == ("failed", "invalid_destination")
        assert invalid.error == "receipt failed err:131026 Message undeliverable"
        assert (closed.state, closed.reason) == ("failed", "window_closed")
        assert after.amount == before.amount  # both charges refunded
        assert known == {"6281912345678": False}
    finally:
        server.stop()
        graph.stop()


async def test_a_rate_limited_burst_is_sent_whole_once_each_in_order_per_recipient(
    core, database_url, tmp_path: Path
) -> None:
    ida = await indonesian(core)
    server = ServerProcess(tmp_path / "server", database_url, env=ENV)
    graph = GraphProcess(tmp_path / "graph", "--rate-limit", "30", "--delivered-delay", "none", "--read-delay", "none")
    graph.start()
    cid = await add_cloud(core, ida.id, graph, tps=1000, window=40)
    graph.command(webhook_url=hook(server, cid))
    await add_route(core, ida.id, "whatsapp", cid)
    recipients = [f"+62812000000{i:02d}" for i in range(25)]
    async with core.unit() as unit:
        account = await _account(unit, ida.id)
        drafts = [messages.Draft(recipient=recipients[n % 25], body=f"{n % 25}:{n // 25:03d}", channel="whatsapp",
                                 connector_id=cid) for n in range(500)]  # fmt: skip
        ids = (await messages.submit(unit, account, drafts)).ids
    server.start()
    try:
        async def all_sent() -> bool:
            async with core.reader() as unit:
                rows = (await unit.conn.execute(select(messages_table.c.state).where(messages_table.c.id.in_(ids)))).all()
            return all(r.state == "sent" for r in rows)

        await wait_for(all_sent, timeout=180, message="500 sent")
    finally:
        server.stop()
        graph.stop()
    refused = graph.events("refused")
    assert any(e["code"] == 130429 for e in refused), "the burst met the rate limit"
    bodies = [e["body"]["text"]["body"] for e in graph.events("send")]
    assert sorted(bodies) == sorted(d.body for d in drafts)  # every one, none twice
    for r in range(25):
        mine = [b for b in bodies if b.startswith(f"{r}:")]
        assert mine == sorted(mine), f"recipient {r} out of order"


async def fallback_to_smsc(core, account_id: int, server: ServerProcess, graph: GraphProcess,  # noqa: ANN001
                           smsc: SmscProcess, after: int) -> int:
    """A Cloud API connector whose route falls back to SMS after ``after`` seconds, an SMPP
    connector for the SMS route, the server started and both bound; the SMPP connector's id."""
    cid = await add_cloud(core, account_id, graph)
    graph.command(webhook_url=hook(server, cid))
    config, secrets = KINDS["smpp"].parse(smsc.settings())
    async with core.unit() as unit:
        sms_id = (await records.add(unit, account_id, name="smsc", kind="smpp", config=config, secrets=secrets)).id
    await add_route(core, account_id, "whatsapp", cid, fallback_channel="sms", fallback_after=after)
    await add_route(core, account_id, "sms", sms_id)
    server.start()
    await wait_bound(core, account_id, cid)
    await wait_bound(core, account_id, sms_id)
    return sms_id


async def test_fallback_to_sms_when_the_number_is_not_on_whatsapp(core, database_url, tmp_path: Path) -> None:
    ida = await indonesian(core)
    smsc = SmscProcess(tmp_path / "smsc", "--receipt-delay", "0.1").start()
    server = ServerProcess(tmp_path / "server", database_url, env=ENV)
    graph = GraphProcess(tmp_path / "graph", "--invalid", "62819*").start()
    try:
        sms_id = await fallback_to_smsc(core, ida.id, server, graph, smsc, after=600)
        async with core.reader() as unit:
            sms_before = await billing.balance(unit, ida.id, "sms")
        key = {"APIKey": ida.api_key}
        headers = {"Authorization": f"Bearer {ida.bearer_token}"}
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            r = await nusa_post(http, "/whatsapp/message", key, {"destination": "6281912345678", "message": "Kode anda 4242"})
            assert r.status_code == 201, r.text
            ref = r.json()["data"]["ref_no"]

            async def delivered_by_sms() -> dict | None:
                data = await nusa_status(http, key, ref)
                return data if data["status"] == "D" and "fallback" in data else None

            status = await wait_for(delivered_by_sms, timeout=30, interval=0.2, message="fallback SMS delivered")
            first = (await http.get(f"/api/v1/messages/{ref}", headers=headers)).json()
            second = (await http.get(f"/api/v1/messages/{status['fallback']['ref_no']}", headers=headers)).json()
        assert (first["channel"], first["state"], first["reason"]) == ("whatsapp", "failed", "invalid_destination")
        assert first["fallback"]["channel"] == "sms" and first["fallback"]["state"] == "done"
        assert first["fallback"]["message_id"] == second["id"] and first["fallback_of"] is None
        assert (second["channel"], second["state"], second["fallback_of"]) == ("sms", "delivered", int(ref))
        assert second["connector_id"] == sms_id and second["body"] == "Kode anda 4242"
        assert status["fallback"] == {"channel": "sms", "ref_no": str(second["id"]), "status": "D"}
        [submit] = smsc.events("submit_sm")
        assert submit["destination_addr"] == "6281912345678" and submit["text"] == "Kode anda 4242"
        async with core.reader() as unit:
            sms_after = await billing.balance(unit, ida.id, "sms")
            [watch] = (await unit.conn.execute(select(fallbacks).where(fallbacks.c.message_id == int(ref)))).all()
        assert sms_before.amount - sms_after.amount == Decimal(second["price"])  # billed as SMS
        assert watch.state == "done"
    finally:
        server.stop()
        graph.stop()
        smsc.stop()


async def test_an_expired_token_takes_the_connector_down_and_says_so(core, database_url, tmp_path: Path) -> None:
    ida = await indonesian(core)
    server, graph, cid = await cloud_and_server(core, ida.id, database_url, tmp_path, "--expired-token")
    try:
        async def down_with_reason() -> records.Connector | None:
            async with core.reader() as unit:
                record = await records.get(unit, ida.id, cid)
            return record if record.state == "down" and "access token refused: 190" in record.state_detail else None

        record = await wait_for(down_with_reason, timeout=30, message="connector down: token refused")
        assert not record.up()
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            metrics = (await http.get("/metrics")).text
            refused = await nusa_post(http, "/whatsapp/message", {"APIKey": ida.api_key},
                                      {"destination": "6281234567890", "message": "Halo"})  # fmt: skip
        assert f'postino_connector_bound{{account="{ida.id}",connector="wa",state="down"}} 1.0' in metrics
        assert refused.status_code == 400 and refused.json()["message"] == "No WA sender available"
    finally:
        server.stop()
        graph.stop()


async def test_a_template_reaches_a_number_whose_window_is_closed(core, database_url, tmp_path: Path) -> None:
    ida = await indonesian(core)
    server, graph, cid = await cloud_and_server(core, ida.id, database_url, tmp_path, "--window-closed", "62818*",
                                                "--read-delay", "none")  # fmt: skip
    try:
        await wait_bound(core, ida.id, cid)
        headers = {"Authorization": f"Bearer {ida.bearer_token}"}
        template = {"name": "order_update", "language": "id", "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "A-1042"}]}]}  # fmt: skip
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:
            bad = await http.post("/api/v1/messages", json={"to": "081812345678", "channel": "sms", "template": template})
            assert bad.status_code == 422 and bad.json()["error"]["field"] == "template"
            empty = await http.post("/api/v1/messages", json={"to": "081812345678", "channel": "whatsapp"})
            assert empty.status_code == 422 and empty.json()["error"]["field"] == "text"
            sent = await http.post("/api/v1/messages", json={"to": "081812345678", "channel": "whatsapp",
                                                             "template": template})  # fmt: skip
            assert sent.status_code == 201, sent.text
            assert sent.json()["state"] == "queued"
            mid = sent.json()["id"]

            async def delivered() -> dict | None:
                shown = (await http.get(f"/api/v1/messages/{mid}")).json()
                return shown if shown["state"] == "delivered" else None

            shown = await wait_for(delivered, timeout=30, message="template delivered")
        assert shown["recipient"] == "+6281812345678" and shown["connector_id"] == cid
        assert [e["state"] for e in shown["events"]][:1] == ["queued"]
        [send] = graph.events("send")
        assert send["body"]["type"] == "template"
        assert send["body"]["template"] == {"name": "order_update", "language": {"code": "id"},
                                            "components": template["components"]}  # fmt: skip
    finally:
        server.stop()
        graph.stop()


async def test_fallback_when_the_window_is_closed_or_delivery_does_not_come_in_time(
    core, database_url, tmp_path: Path
) -> None:
    """The other two triggers: a send outside the 24-hour window falls back at once; a send the
    user's phone never confirms falls back once the route's time has passed, not before."""
    ida = await indonesian(core)
    smsc = SmscProcess(tmp_path / "smsc", "--receipt-delay", "0.1").start()
    server = ServerProcess(tmp_path / "server", database_url, env=ENV)
    graph = GraphProcess(tmp_path / "graph", "--window-closed", "62818*", "--delivered-delay", "none",
                         "--read-delay", "none").start()  # fmt: skip
    closed, silent = "6281812345678", "6281212345678"
    try:
        await fallback_to_smsc(core, ida.id, server, graph, smsc, after=3)
        key = {"APIKey": ida.api_key}
        headers = {"Authorization": f"Bearer {ida.bearer_token}"}
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            refs = {}
            for number in (closed, silent):
                r = await nusa_post(http, "/whatsapp/message", key, {"destination": number, "message": f"Halo {number}"})
                assert r.status_code == 201, r.text
                refs[number] = r.json()["data"]["ref_no"]

            async def delivered_by_sms(ref: str) -> dict | None:
                data = await nusa_status(http, key, ref)
                return data if data["status"] == "D" and "fallback" in data else None

            statuses = {n: await wait_for(lambda ref=ref: delivered_by_sms(ref), timeout=30, interval=0.2,
                                          message=f"fallback of {n} delivered") for n, ref in refs.items()}  # fmt: skip
            shown = {}
            for number, ref in refs.items():
                first = (await http.get(f"/api/v1/messages/{ref}", headers=headers)).json()
                second = (await http.get(f"/api/v1/messages/{statuses[number]['fallback']['ref_no']}",
                                         headers=headers)).json()  # fmt: skip
                shown[number] = (first, second)
        first, second = shown[closed]
        assert (first["state"], first["reason"]) == ("failed", "window_closed")
        assert (second["channel"], second["state"], second["fallback_of"]) == ("sms", "delivered", int(refs[closed]))
        first, second = shown[silent]
        assert first["state"] == "sent" and first["reason"] is None  # WhatsApp never said more
        assert first["fallback"]["state"] == "done" and first["fallback"]["message_id"] == second["id"]
        assert (second["channel"], second["state"], second["body"]) == ("sms", "delivered", f"Halo {silent}")
        async with core.reader() as unit:
            rows = {r.id: r for r in (await unit.conn.execute(
                select(messages_table.c.id, messages_table.c.created_at)
                .where(messages_table.c.id.in_([int(refs[silent]), second["id"]])))).all()}  # fmt: skip
        waited = rows[second["id"]].created_at - rows[int(refs[silent])].created_at
        assert waited.total_seconds() >= 3  # not before the route's time
        submits = smsc.events("submit_sm")
        assert sorted(s["destination_addr"] for s in submits) == sorted([closed, silent])  # once each
        assert {s["text"] for s in submits} == {f"Halo {closed}", f"Halo {silent}"}
    finally:
        server.stop()
        graph.stop()
        smsc.stop()
