"""Opt-outs: keywords from inbound messages, the list and its history, webhooks, auto-replies, each dialect's refusal."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select

from postino.core.accounts import accounts
from postino.core.contacts import campaigns, optouts
from postino.core.devices import devices
from postino.core.events import webhooks
from postino.core.messages import inbound
from postino.db.tables import messages, optout_events, outbox
from postino.db.tables import optouts as optouts_table

from ..device_api.helpers import API, register, signed
from ..support import run_cli
from .helpers import bulk_contacts, new_list, number, phone

ANNA = "+393491234567"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Stop ", ("stop", "STOP")), ("  stop\n", ("stop", "STOP")), ("STOP!", ("stop", "STOP")),
        ("Arrêt", ("stop", "ARRET")), ("basta", ("stop", "BASTA")), ("Cancella.", ("stop", "CANCELLA")),
        ("berhenti", ("stop", "BERHENTI")), ("UNSUBSCRIBE", ("stop", "UNSUBSCRIBE")), ("Stopp", ("stop", "STOPP")),
        ("start", ("start", "START")), ("Unstop", ("start", "UNSTOP")), ("yes", ("start", "YES")),
        ("stop it", None), ("please stop", None), ("Stoppen", None), ("", None), ("S T O P", None),
    ],
)
def test_a_keyword_is_the_whole_message_whatever_its_case_accents_and_spaces(text: str, found: tuple | None) -> None:
    assert optouts.keyword(text) == found


async def _inbound(core, account_id: int, device_id: int, sender: str, body: str) -> int:  # noqa: ANN001
    """What the device API does with a phone's ``sms:received``: store it (the listeners hear it)."""
    async with core.unit() as unit:
        device = await devices.get(unit, account_id, device_id)
        return (await inbound.receive(unit, device, sender=sender, body=body, slot=0)).id


async def _listed(core, account_id: int) -> list[dict]:  # noqa: ANN001
    async with core.reader() as unit:
        found, _next = await optouts.page(unit, account_id)
    return [o.public() for o in found]


async def test_stop_from_a_phone_opts_the_number_out_and_start_brings_it_back(core, alice) -> None:  # noqa: ANN001
    device = await phone(core, alice.id)
    async with core.unit() as unit:
        await webhooks.create(unit, alice.id, url="https://hooks.example.com/o",
                              events=["contact.opted_out", "contact.opted_in"])  # fmt: skip
    stop_id = await _inbound(core, alice.id, device, "3491234567", "Stop ")
    [entry] = await _listed(core, alice.id)
    assert {k: entry[k] for k in ("phone", "channel", "source", "keyword", "message_id", "actor")} == {
        "phone": ANNA, "channel": "sms", "source": "keyword", "keyword": "STOP", "message_id": stop_id, "actor": "",
    }
    await _inbound(core, alice.id, device, ANNA, "STOP")  # again: nothing changes, nothing is announced
    await _inbound(core, alice.id, device, ANNA, "Stop sending me offers")  # not a keyword
    assert len(await _listed(core, alice.id)) == 1
    start_id = await _inbound(core, alice.id, device, ANNA, "START")
    assert await _listed(core, alice.id) == []
    async with core.reader() as unit:
        history = await optouts.history(unit, alice.id)
        posted = (await unit.conn.execute(select(outbox.c.event, outbox.c.payload).order_by(outbox.c.id))).all()
    assert [(h["action"], h["keyword"], h["message_id"]) for h in history] == [
        ("opted_out", "STOP", stop_id), ("opted_in", "START", start_id)
    ]
    assert [event for event, _ in posted] == ["contact.opted_out", "contact.opted_in"]
    assert {k: posted[0].payload["data"][k] for k in ("phone", "keyword", "message_id", "channel", "source")} == {
        "phone": ANNA, "keyword": "STOP", "message_id": stop_id, "channel": "sms", "source": "keyword"
    }


async def test_the_phone_apps_webhook_reaches_the_opt_out_list(client, core, alice) -> None:  # noqa: ANN001
    reg = await register(client, alice.device_registration_token)
    async with core.reader() as unit:
        device = await devices.by_ext_id(unit, reg["id"])
    body = json.dumps({"deviceId": reg["id"], "event": "sms:received", "id": "e1", "webhookId": "w", "payload": {
        "messageId": "m1", "message": " Basta ", "phoneNumber": "+393491234567", "simNumber": 1}}).encode()  # fmt: skip
    answer = await client.post(f"{API}/hooks/{reg['id']}", content=body, headers=signed(device.webhook_key, body))
    assert answer.status_code == 204, answer.text
    assert [(e["phone"], e["keyword"]) for e in await _listed(core, alice.id)] == [(ANNA, "BASTA")]


async def test_a_keyword_can_have_an_auto_reply_sent_through_the_phone_that_got_it(core, alice) -> None:  # noqa: ANN001
    device = await phone(core, alice.id)
    async with core.unit() as unit:
        await optouts.configure(unit, alice.id, replies={"any-stop": "Unsubscribed. START to come back.", "yes": "Welcome!"})
    await _inbound(core, alice.id, device, ANNA, "quit")
    await _inbound(core, alice.id, device, ANNA, "Yes")
    async with core.reader() as unit:
        sent = (await unit.conn.execute(
            select(messages.c.recipient, messages.c.body, messages.c.device_id, messages.c.slot, messages.c.state)
            .where(messages.c.direction == "out").order_by(messages.c.id)
        )).all()  # fmt: skip
        settings = optouts.settings_of(await accounts.get(unit, alice.id))
    assert [tuple(s) for s in sent] == [
        (ANNA, "Unsubscribed. START to come back.", device, 0, "queued"), (ANNA, "Welcome!", device, 0, "queued")
    ]
    assert settings == {"optout_policy": "campaigns",
                        "replies": {"any-stop": "Unsubscribed. START to come back.", "YES": "Welcome!"}}  # fmt: skip


async def test_campaigns_skip_opted_out_numbers_in_every_dialect(client, core, alice) -> None:  # noqa: ANN001
    device = await phone(core, alice.id)
    tag = await new_list(core, alice.id, "Clienti")
    await bulk_contacts(core, alice.id, tag, [number(1), number(2), number(3)])
    await _inbound(core, alice.id, device, number(2), "stop")
    sg24 = (await client.post("/getdata/savepaket", data={
        "token": alice.sg24_token, "title": "News", "device_id": device, "body": "Hi", "tags": str(tag)})).json()  # fmt: skip
    assert (sg24["error"], sg24["contacts"]) == (0, 2)
    nusa = await client.get("/api/v3/sendsms/group", params={
        "user": alice.email, "password": alice.password, "SMSText": "Hi", "group": "Clienti", "output": "json"})  # fmt: skip
    assert nusa.json()["results"][0]["status"] == "0"
    async with core.reader() as unit:
        found, _ = await campaigns.list_campaigns(unit, alice.id)
        recipients = sorted((await unit.conn.execute(select(messages.c.recipient).where(
            messages.c.batch_id.in_([c.batch_id for c in found])))).scalars())  # fmt: skip
    assert recipients == sorted([number(1), number(3)] * 2)
    assert [c.opted_out for c in found] == [1, 1]


async def _policy_all(core, account_id: int) -> None:  # noqa: ANN001
    async with core.unit() as unit:
        await optouts.configure(unit, account_id, policy_name="all")
        await optouts.add(unit, await accounts.get(unit, account_id), "3491234567", actor="test")


def _basic(account) -> dict[str, str]:  # noqa: ANN001
    return {"Authorization": "Basic " + base64.b64encode(f"{account.email}:{account.password}".encode()).decode()}


async def test_single_sends_go_by_default_and_each_dialect_refuses_them_in_its_words_with_policy_all(
    client, core, alice
) -> None:  # noqa: ANN001
    from ..nusasms.conftest import wa_phone

    device = (await wa_phone(core, alice.id)).id
    async with core.unit() as unit:
        await optouts.add(unit, await accounts.get(unit, alice.id), ANNA, actor="test")
    sent = (await client.post("/getdata/addsms", data={
        "token": alice.sg24_token, "sendto": ANNA, "body": "Your code: 1234", "device_id": device})).json()  # fmt: skip
    assert sent["error"] == 0  # optout_policy "campaigns": a transactional single send still goes

    await _policy_all(core, alice.id)
    sg24 = await client.post("/getdata/addsms", data={"token": alice.sg24_token, "sendto": f"+393490000001,{ANNA}",
                                                     "body": "x", "device_id": device})  # fmt: skip
    assert sg24.json() == {"error": 1, "message": "Recipient has opted out"}
    bulk = await client.post("/getdata/addalotofsms", json={"token": alice.sg24_token, "smsdata": [
        {"sendto": "+393490000001", "body": "a", "device_id": device},
        {"sendto": ANNA, "body": "b", "device_id": device}]})  # fmt: skip
    assert bulk.json() == {"error": 1, "message": "smsdata[1]: Recipient has opted out"}

    bearer = {"Authorization": f"Bearer {alice.bearer_token}"}
    mixed = await client.post("/messages/", headers=bearer, json={
        "sender": "shop", "body": "hi", "recipients": ["+39-3490000001", "+39-3491234567"]})  # fmt: skip
    assert mixed.status_code == 201
    assert mixed.json()["data"][0]["recipients"]["invalid"] == {"total": 1, "list": ["+39-3491234567"]}
    only = await client.post("/messages/", headers=bearer, json={"sender": "shop", "body": "hi",
                                                                "recipients": "+39-3491234567"})  # fmt: skip
    assert (only.status_code, only.json()["error"]) == (422, 304)

    plain = await client.get("/api/v3/sendsms/plain", params={
        "user": alice.email, "password": alice.password, "SMSText": "hi", "GSM": "393490000001,393491234567",
        "output": "json"})  # fmt: skip
    assert [(r["status"], r["destination"]) for r in plain.json()["results"]] == [
        ("0", "393490000001"), ("-10", "393491234567")
    ]
    wa = await client.post("/nusasms_api/1.0/whatsapp/message", headers={"APIKey": alice.api_key},
                           json={"destination": "393491234567", "message": "hi"})  # fmt: skip
    assert wa.status_code == 422 and wa.json()["error"] is True and wa.json()["message"] == "Recipient has opted out"

    gate = await client.post("/3rdparty/v1/messages", headers=_basic(alice),
                             json={"textMessage": {"text": "hi"}, "phoneNumbers": ["+393491234567"]})  # fmt: skip
    assert gate.status_code == 400 and "opted out" in gate.json()["message"]
    async with core.reader() as unit:
        refused = (await unit.conn.execute(select(messages.c.id).where(
            messages.c.recipient == ANNA, messages.c.direction == "out"))).all()  # fmt: skip
    assert len(refused) == 1  # only the send made before the policy changed


async def test_the_cli_lists_adds_removes_and_exports(settings, core, alice, tmp_path) -> None:  # noqa: ANN001
    db = ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url]
    added = json.loads(run_cli("optouts", "add", "349 1234567", "--email", alice.email, "--json", *db).stdout)
    assert added == {"phone": ANNA, "changed": True}
    async with core.unit() as unit:
        await optouts.remove(unit, await accounts.get(unit, alice.id), ANNA, actor="api:test")
        await optouts.add(unit, await accounts.get(unit, alice.id), "+393497654321", source="api", actor="api:test")
    shown = json.loads(run_cli("optouts", "settings", "--email", alice.email, "--policy", "all", "--reply",
                               "any-stop=Addio", "--reply", "start=Ciao", "--json", *db).stdout)  # fmt: skip
    assert shown == {"optout_policy": "all", "replies": {"any-stop": "Addio", "START": "Ciao"}}
    out = tmp_path / "history.csv"
    run_cli("optouts", "export", "--email", alice.email, "--history", "--out", str(out), *db)
    lines = out.read_text().splitlines()
    assert lines[0] == "id,phone,action,at,channel,source,keyword,message_id,actor"
    assert [line.split(",")[1:3] + line.split(",")[5:6] + line.split(",")[-1:] for line in lines[1:]] == [
        [ANNA, "opted_out", "operator", lines[1].split(",")[-1]], [ANNA, "opted_in", "operator", "api:test"],
        ["+393497654321", "opted_out", "api", "api:test"],
    ]
    assert lines[1].split(",")[-1].startswith("cli")
    async with core.reader() as unit:
        assert (await unit.conn.execute(select(optouts_table.c.phone))).scalars().all() == ["+393497654321"]
        assert len((await unit.conn.execute(select(optout_events))).all()) == 3
