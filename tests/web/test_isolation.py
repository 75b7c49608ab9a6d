"""An account sees only its own data: another account's ids answer 404 on every page and action."""

from __future__ import annotations

import re

import httpx

from postino.core.accounts import credentials
from postino.core.devices import devices
from postino.core.events import webhooks
from postino.core.service import Core
from tests.web.helpers import log_in


async def _alices_things(client: httpx.AsyncClient, alice, core: Core) -> dict[str, int]:  # noqa: ANN001
    token = await log_in(client, alice.email, alice.password)
    await client.post("/dashboard/send", data={"csrf_token": token, "numbers": "+393491234567", "body": "alice secret text",
                                                "at": "2099-01-01T09:00"})  # fmt: skip
    message_id = int(re.search(r'id="m-(\d+)"', (await client.get("/dashboard/messages")).text).group(1))
    list_id = int((await client.post("/dashboard/contacts", data={"csrf_token": token, "title": "alice list"})).headers["location"].rsplit("/", 1)[1])
    await client.post(f"/dashboard/contacts/{list_id}/add", data={"csrf_token": token, "phone": "+393491234567", "name": "Anna"})
    made = await client.post("/dashboard/campaigns", data={"csrf_token": token, "title": "alice campaign", "body": "b",
                                                           "lists": str(list_id), "at": "2099-01-01T09:00"})  # fmt: skip
    campaign_id = int(made.headers["location"].rsplit("/", 1)[1])
    async with core.unit() as unit:
        hook = await webhooks.create(unit, alice.id, url="https://alice.example.com/h", events=["message.sent"])
        device, _ = await devices.register(unit, alice.id, name="alice phone")
        (credential, *_) = await credentials.list_for(unit, alice.id, "sg24")
        contact_id = int((await unit.conn.exec_driver_sql("SELECT id FROM contacts")).scalar_one())
    await client.post("/logout", data={"csrf_token": token})
    return {"message": message_id, "list": list_id, "campaign": campaign_id, "webhook": hook.id, "device": device.id,
            "credential": credential.id, "contact": contact_id}  # fmt: skip


async def test_another_accounts_ids_answer_404_and_its_data_shows_nowhere(client: httpx.AsyncClient, alice, bob, core: Core) -> None:  # noqa: ANN001
    ids = await _alices_things(client, alice, core)
    token = await log_in(client, bob.email, bob.password)
    for path in (
        f"/dashboard/messages/{ids['message']}", f"/dashboard/messages/{ids['message']}/row",
        f"/dashboard/messages/{ids['message']}/timeline", f"/dashboard/contacts/{ids['list']}",
        f"/dashboard/campaigns/{ids['campaign']}", f"/dashboard/campaigns/{ids['campaign']}/counts",
        f"/dashboard/webhooks/{ids['webhook']}", "/dashboard/messages/99999999999999999999",
    ):  # fmt: skip
        assert (await client.get(path)).status_code == 404, path
    for path in (
        f"/dashboard/messages/{ids['message']}/cancel", f"/dashboard/credentials/{ids['credential']}/revoke",
        f"/dashboard/contacts/{ids['list']}/import", f"/dashboard/contacts/{ids['list']}/add",
        f"/dashboard/contacts/{ids['list']}/entries/{ids['contact']}/delete", f"/dashboard/campaigns/{ids['campaign']}/cancel",
        f"/dashboard/contacts/{ids['list']}/entries/{ids['contact']}",
        f"/dashboard/webhooks/{ids['webhook']}/delete", f"/dashboard/phones/{ids['device']}",
    ):  # fmt: skip
        assert (await client.post(path, data={"csrf_token": token, "phone": "+4915112345678"})).status_code == 404, path
    through_alices_phone = await client.post(
        "/dashboard/send", data={"csrf_token": token, "numbers": "+4915112345678", "body": "x", "through": f"{ids['device']}:0"}
    )
    assert through_alices_phone.status_code == 422
    with_alices_list = await client.post("/dashboard/send", data={"csrf_token": token, "list_id": str(ids["list"]), "body": "x"})
    assert with_alices_list.status_code == 422 and "Unknown list" in with_alices_list.text
    for path, alices in (
        ("/", "alice"), ("/dashboard/messages", "alice secret text"), (f"/dashboard/messages?campaign={ids['campaign']}", "alice secret"),
        ("/dashboard/contacts", "alice list"), ("/dashboard/campaigns", "alice campaign"),
        ("/dashboard/webhooks", "alice.example.com"), ("/dashboard/phones", "alice phone"), ("/dashboard/send", "alice"),
        ("/dashboard/credentials", f"/dashboard/credentials/{ids['credential']}/revoke"), ("/dashboard/billing", "alice"),
    ):  # fmt: skip
        page = await client.get(path)
        assert page.status_code == 200 and alices not in page.text, path
    async with core.reader() as unit:  # nothing of alice's changed
        assert (await credentials.list_for(unit, alice.id, "sg24"))[0].revoked_at is None
        assert len(await webhooks.list_for(unit, alice.id)) == 1
