"""The dashboard's pages through HTTP, as a browser without JavaScript uses them: forms in, pages out."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from postino.core.accounts import credentials, operators
from postino.core.devices import devices
from postino.core.service import Core
from postino.db.tables import contacts as contacts_table
from postino.db.tables import messages as messages_table
from tests.web.helpers import log_in

LATER = "2099-01-01T09:00"


async def _count(core: Core, table) -> int:  # noqa: ANN001
    async with core.reader() as unit:
        return int(await unit.conn.scalar(select(func.count()).select_from(table)))


async def test_send_checks_every_number_before_writing_anything(client: httpx.AsyncClient, alice, core: Core) -> None:  # noqa: ANN001
    token = await log_in(client, alice.email, alice.password)
    bad = await client.post(
        "/dashboard/send", data={"csrf_token": token, "numbers": "+393491234567, not-a-number", "body": "hi", "at": LATER}
    )
    assert bad.status_code == 422 and "Not a phone number: not-a-number" in bad.text
    empty = await client.post("/dashboard/send", data={"csrf_token": token, "numbers": "+393491234567", "body": ""})
    assert empty.status_code == 422 and "Write the text to send" in empty.text
    odd = await client.post("/dashboard/send", data={"csrf_token": token, "numbers": "3491234567", "body": "x", "through": "9:9"})
    assert odd.status_code == 422 and "Choose a phone" in odd.text
    assert await _count(core, messages_table) == 0


async def test_a_sent_message_is_listed_shown_and_canceled(client: httpx.AsyncClient, alice, core: Core) -> None:  # noqa: ANN001
    token = await log_in(client, alice.email, alice.password)
    sent = await client.post(
        "/dashboard/send", data={"csrf_token": token, "numbers": "349 123 4567\n+393491234568", "body": "Ciao dal cruscotto", "at": LATER}
    )
    assert (sent.status_code, sent.headers["location"]) == (303, "/dashboard/messages?sent=2")
    listed = await client.get("/dashboard/messages?sent=2")
    assert "2 messages accepted." in listed.text and listed.text.count("Ciao dal cruscotto") == 2
    ids = [int(i) for i in re.findall(r'id="m-(\d+)"', listed.text)]
    assert len(ids) == 2 and "+393491234567" in listed.text
    searched = await client.get("/dashboard/messages", params={"number": "4568", "q": "CRUSCOTTO", "state": "scheduled"})
    assert re.findall(r'id="m-(\d+)"', searched.text) == [str(max(ids))]
    assert "No messages match." in (await client.get("/dashboard/messages", params={"state": "delivered"})).text
    list_url = (await client.post("/dashboard/contacts", data={"csrf_token": token, "title": "Uno"})).headers["location"]
    await client.post(f"{list_url}/add", data={"csrf_token": token, "phone": "+393491234568"})
    by_list = await client.get("/dashboard/messages", params={"list": list_url.rsplit("/", 1)[1]})
    assert re.findall(r'id="m-(\d+)"', by_list.text) == [str(max(ids))]
    shown = await client.get(f"/dashboard/messages/{ids[0]}")
    assert shown.status_code == 200 and "Cancel this message" in shown.text and "scheduled" in shown.text
    canceled = await client.post(f"/dashboard/messages/{ids[0]}/cancel", data={"csrf_token": token})
    assert canceled.status_code == 303
    row = await client.get(f"/dashboard/messages/{ids[0]}/row")
    assert "state-canceled" in row.text and "hx-trigger" not in row.text  # settled: it stops polling
    assert (await client.post(f"/dashboard/messages/{ids[0]}/cancel", data={"csrf_token": token})).status_code == 409


async def test_keyset_pages_follow_each_other(client: httpx.AsyncClient, alice) -> None:  # noqa: ANN001
    token = await log_in(client, alice.email, alice.password)
    numbers = "\n".join(f"+39349100{n:04d}" for n in range(60))
    assert (await client.post("/dashboard/send", data={"csrf_token": token, "numbers": numbers, "body": "p", "at": LATER})).status_code == 303
    first = await client.get("/dashboard/messages")
    cursor = re.search(r'before=(\d+)" rel="next"', first.text).group(1)
    second = await client.get(f"/dashboard/messages?before={cursor}")
    one, two = (re.findall(r'id="m-(\d+)"', p.text) for p in (first, second))
    assert (len(one), len(two)) == (50, 10) and not set(one) & set(two)


async def test_a_credential_shows_its_secret_once_and_revoked_it_opens_nothing(client: httpx.AsyncClient, alice, core: Core) -> None:  # noqa: ANN001
    token = await log_in(client, alice.email, alice.password)
    made = await client.post(
        "/dashboard/credentials",
        data={"csrf_token": token, "kind": "bearer", "name": "ci", "scopes": ["messages:read"], "expires": "2099-12-31"},
    )
    assert made.status_code == 201
    secret = re.search(r'id="new-secret">([^<]+)<', made.text).group(1)
    assert secret.startswith("pst_")
    listed = await client.get("/dashboard/credentials")
    assert secret not in listed.text and f"…{secret[-4:]}" in listed.text and "2099-12-31" in listed.text
    async with core.reader() as unit:
        credential = await credentials.resolve(unit, secret, ("bearer",))
    assert credential.scopes == ("messages:read",)
    no_scope = await client.post("/dashboard/credentials", data={"csrf_token": token, "kind": "bearer", "name": "none"})
    assert no_scope.status_code == 422 and "at least one scope" in no_scope.text
    revoked = await client.post(f"/dashboard/credentials/{credential.id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    answer = await client.get("/api/v1/devices", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 401


async def test_a_csv_import_reports_like_the_cli_and_bad_rows_import_nothing(client: httpx.AsyncClient, alice, core: Core) -> None:  # noqa: ANN001
    token = await log_in(client, alice.email, alice.password)
    made = await client.post("/dashboard/contacts", data={"csrf_token": token, "title": "Clienti"})
    list_url = made.headers["location"]
    good = "phone,name,city\n+393491234567,Anna,Roma\n3491234568,Bruno,Milano\n"
    bad = good + "nonsense,Carla,Napoli\n"
    refused = await client.post(f"{list_url}/import", data={"csrf_token": token}, files={"file": ("c.csv", bad, "text/csv")})
    assert refused.status_code == 422 and "line 4" in refused.text and "nothing imported" in refused.text
    assert await _count(core, contacts_table) == 0
    imported = await client.post(f"{list_url}/import", data={"csrf_token": token}, files={"file": ("c.csv", good, "text/csv")})
    assert imported.status_code == 200 and "<b>2</b> imported" in imported.text
    page = await client.get(list_url, params={"q": "bruno"})
    assert "+393491234568" in page.text and "+393491234567" not in page.text and "city=Milano" in page.text
    no_file = await client.post(f"{list_url}/import", data={"csrf_token": token})
    assert no_file.status_code == 422 and "Choose a CSV" in no_file.text


async def test_a_campaign_is_created_previewed_and_paused(client: httpx.AsyncClient, alice, core: Core) -> None:  # noqa: ANN001
    token = await log_in(client, alice.email, alice.password)
    list_url = (await client.post("/dashboard/contacts", data={"csrf_token": token, "title": "VIP"})).headers["location"]
    list_id = list_url.rsplit("/", 1)[1]
    await client.post(f"{list_url}/add", data={"csrf_token": token, "phone": "+393491234567", "name": "Anna"})
    preview = await client.post("/dashboard/campaigns/preview", data={"csrf_token": token, "body": "Ciao {{name}}!", "lists": list_id})
    assert "Ciao Anna!" in preview.text
    missing = await client.post("/dashboard/campaigns", data={"csrf_token": token, "title": "x", "body": "y"})
    assert missing.status_code == 422 and "At least one" in missing.text
    made = await client.post(
        "/dashboard/campaigns", data={"csrf_token": token, "title": "Saldi", "body": "Ciao {{name}}", "lists": list_id, "at": LATER}
    )
    assert made.status_code == 303
    page = await client.get(made.headers["location"])
    assert "Saldi" in page.text and "state-scheduled" in page.text and 'hx-trigger="every 2s"' in page.text
    paused = await client.post(made.headers["location"] + "/pause", data={"csrf_token": token})
    assert paused.status_code in (303, 409)
    listed = await client.get("/dashboard/campaigns")
    assert "Saldi" in listed.text


async def test_adding_a_phone_shows_its_token_a_qr_code_and_a_one_time_code(client: httpx.AsyncClient, alice, core: Core) -> None:  # noqa: ANN001
    token = await log_in(client, alice.email, alice.password)
    async with core.unit() as unit:
        device, _ = await devices.register(unit, alice.id, name="shop-phone")
    added = await client.post("/dashboard/phones/add", data={"csrf_token": token})
    assert added.status_code == 201 and "<svg" in added.text and "http://testserver/api/mobile/v1" in added.text
    secret = re.search(r'id="new-secret">([^<]+)<', added.text).group(1)
    assert re.search(r'class="otc">\d{6}<', added.text)
    async with core.reader() as unit:
        assert (await credentials.resolve(unit, secret, ("device_registration",))).account_id == alice.id
    changed = await client.post(
        f"/dashboard/phones/{device.id}", data={"csrf_token": token, "name": "till", "delay_between_sms": "5", "delay_between_request": "x"}
    )
    assert changed.status_code == 422 and "whole number" in changed.text
    changed = await client.post(
        f"/dashboard/phones/{device.id}", data={"csrf_token": token, "name": "till", "delay_between_sms": "5"}
    )
    assert changed.status_code == 303
    async with core.reader() as unit:
        assert (await devices.get(unit, alice.id, device.id)).delay_between_sms == 5


async def test_webhooks_billing_and_the_operator_page(client: httpx.AsyncClient, alice, bob, core: Core) -> None:  # noqa: ANN001
    token = await log_in(client, alice.email, alice.password)
    refused = await client.post("/dashboard/webhooks", data={"csrf_token": token, "url": "ftp://x", "events": "message.sent"})
    assert refused.status_code == 422
    added = await client.post("/dashboard/webhooks", data={"csrf_token": token, "url": "https://hooks.example.com/p", "events": "message.sent"})
    assert added.status_code == 201 and "Signing secret" in added.text
    billing = await client.get("/dashboard/billing")
    assert "topup" in billing.text and "100.00" in billing.text
    assert (await client.get("/dashboard/operator")).status_code == 404
    async with core.unit() as unit:
        await operators.set_operator(unit, alice.id)
    page = await client.get("/dashboard/operator")
    assert page.status_code == 200 and bob.email in page.text
    bad = await client.post("/dashboard/operator/topup", data={"csrf_token": token, "account_id": str(bob.id), "product": "sms", "amount": "-1"})
    assert bad.status_code == 422
    done = await client.post("/dashboard/operator/topup", data={"csrf_token": token, "account_id": str(bob.id), "product": "sms", "amount": "25"})
    assert done.status_code == 303
    assert "125.00" in (await client.get("/dashboard/operator")).text


async def test_a_contact_is_renamed_and_an_operator_creates_an_account(client: httpx.AsyncClient, alice, bob, core: Core) -> None:  # noqa: ANN001
    token = await log_in(client, alice.email, alice.password)
    list_url = (await client.post("/dashboard/contacts", data={"csrf_token": token, "title": "Amici"})).headers["location"]
    await client.post(f"{list_url}/add", data={"csrf_token": token, "phone": "+393491234567", "name": "Anna"})
    contact_id = re.search(r"/entries/(\d+)/delete", (await client.get(list_url)).text).group(1)
    renamed = await client.post(f"{list_url}/entries/{contact_id}", data={"csrf_token": token, "name": "Anna Rossi"})
    assert renamed.status_code == 303 and "Anna Rossi" in (await client.get(list_url)).text
    assert (await client.post("/dashboard/operator/accounts", data={"csrf_token": token, "email": "x@example.com"})).status_code == 404
    async with core.unit() as unit:
        await operators.set_operator(unit, alice.id)
    short = await client.post("/dashboard/operator/accounts", data={"csrf_token": token, "email": "c@example.com", "password": "short"})
    assert short.status_code == 422 and "at least 8" in short.text
    made = await client.post(
        "/dashboard/operator/accounts",
        data={"csrf_token": token, "email": "carol@example.com", "password": "carol password", "country": "IT", "timezone": "Europe/Rome"},
    )
    assert made.status_code == 303
    await client.post("/logout", data={"csrf_token": token})
    await log_in(client, "carol@example.com", "carol password")
