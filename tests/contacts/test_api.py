"""``/api/v1`` for lists, contacts, campaigns and opt-outs: bearer tokens, scopes, pages, searches, exact answers."""

from __future__ import annotations

from postino.core.accounts import credentials

from ..conftest import make_account
from .helpers import bulk_contacts, new_list, number, phone


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_lists_and_contacts_crud_with_pages_and_search(client, core, alice, bob) -> None:  # noqa: ANN001
    h = _h(alice.bearer_token)
    created = await client.post("/api/v1/lists", json={"title": "Clienti"}, headers=h)
    assert created.status_code == 201
    lid = created.json()["id"]
    assert created.json() == {"id": lid, "title": "Clienti", "contacts": 0, "created_at": created.json()["created_at"]}
    assert (await client.post("/api/v1/lists", json={"title": " Clienti "}, headers=h)).json()["id"] == lid

    added = await client.post("/api/v1/contacts", headers=h, json={
        "list_id": lid, "phone": "349 1234567", "name": "Anna", "fields": {"city": "Roma"}})  # fmt: skip
    assert added.status_code == 201
    cid = added.json()["id"]
    assert {k: added.json()[k] for k in ("list_id", "phone", "name", "fields")} == {
        "list_id": lid, "phone": "+393491234567", "name": "Anna", "fields": {"city": "Roma"}
    }
    again = await client.post("/api/v1/contacts", headers=h, json={"list_id": lid, "phone": "+393491234567", "name": "Anna R."})
    assert (again.status_code, again.json()["id"], again.json()["name"]) == (200, cid, "Anna R.")
    await bulk_contacts(core, alice.id, lid, [number(i) for i in range(5)])

    page = (await client.get("/api/v1/contacts", params={"list_id": lid, "limit": 4}, headers=h)).json()
    assert len(page["data"]) == 4 and page["next"] is not None
    rest = (await client.get("/api/v1/contacts", params={"list_id": lid, "after": page["next"]}, headers=h)).json()
    assert len(rest["data"]) == 2 and rest["next"] is None
    found = (await client.get("/api/v1/contacts", params={"q": "1234567"}, headers=h)).json()["data"]
    assert [c["id"] for c in found] == [cid]
    found = (await client.get("/api/v1/contacts", params={"q": "anna r"}, headers=h)).json()["data"]
    assert [c["id"] for c in found] == [cid]

    changed = await client.patch(f"/api/v1/contacts/{cid}", headers=h, json={"fields": {"city": "Milano", "vip": True}})
    assert changed.json()["fields"] == {"city": "Milano", "vip": True}
    assert (await client.get(f"/api/v1/lists/{lid}", headers=h)).json()["contacts"] == 6
    renamed = await client.patch(f"/api/v1/lists/{lid}", headers=h, json={"title": "Clienti 2026"})
    assert renamed.json()["title"] == "Clienti 2026"
    exported = await client.get(f"/api/v1/lists/{lid}/export", headers=h)
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.splitlines()[:2] == ["phone,name,city,vip", "+393491234567,Anna R.,Milano,True"]

    # Another account sees none of it.
    hb = _h(bob.bearer_token)
    assert (await client.get(f"/api/v1/lists/{lid}", headers=hb)).status_code == 404
    assert (await client.get(f"/api/v1/contacts/{cid}", headers=hb)).status_code == 404
    assert (await client.get("/api/v1/contacts", headers=hb)).json() == {"data": [], "next": None}
    assert (await client.post("/api/v1/contacts", headers=hb, json={"list_id": lid, "phone": "+393491234567"})).status_code == 404

    assert (await client.delete(f"/api/v1/contacts/{cid}", headers=h)).status_code == 204
    assert (await client.delete(f"/api/v1/lists/{lid}", headers=h)).status_code == 204
    assert (await client.get("/api/v1/lists", headers=h)).json() == {"data": [], "next": None}
    assert (await client.get("/api/v1/contacts", headers=h)).json()["data"] == []


async def test_scopes_and_errors_in_the_apis_shape(client, core, alice) -> None:  # noqa: ANN001
    async with core.unit() as unit:
        reader = (await credentials.issue(unit, alice.id, "bearer", scopes=["messages:read"])).secret
    refused = await client.post("/api/v1/lists", json={"title": "X"}, headers=_h(reader))
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    assert (await client.get("/api/v1/campaigns", headers=_h(reader))).status_code == 200
    assert (await client.get("/api/v1/lists")).status_code == 401
    bad = await client.post("/api/v1/contacts", headers=_h(alice.bearer_token), json={"list_id": 1, "phone": "x"})
    assert bad.status_code == 404 and bad.json()["error"]["code"] == "not_found"
    lid = await new_list(core, alice.id, "L")
    bad = await client.post("/api/v1/contacts", headers=_h(alice.bearer_token), json={"list_id": lid, "phone": "abc"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "phone"
    wrong = await client.post("/api/v1/campaigns", headers=_h(alice.bearer_token), json={"title": "T", "body": "B",
                                                                                        "lists": [lid], "window": "9-5"})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "window"


async def test_campaigns_through_the_api(client, core, alice) -> None:  # noqa: ANN001
    h = _h(alice.bearer_token)
    device = await phone(core, alice.id)
    lid = await new_list(core, alice.id, "News")
    await bulk_contacts(core, alice.id, lid, [number(i) for i in range(3)])
    created = await client.post("/api/v1/campaigns", headers=h, json={
        "title": "Later", "body": "Hi {{name}}", "lists": [lid], "device_id": device, "at": "2099-05-29T09:00:00",
        "window": "09:00-20:00", "pace": 30})  # fmt: skip
    assert created.status_code == 201, created.text
    shown = created.json()
    assert {k: shown[k] for k in ("state", "total", "send_at", "window", "pace", "lists", "channel", "waiting")} == {
        "state": "scheduled", "total": 3, "send_at": "2099-05-29T07:00:00.000Z", "window": "09:00-20:00", "pace": 30,
        "lists": [lid], "channel": "sms", "waiting": 0,
    }
    cid = shown["id"]
    assert (await client.post(f"/api/v1/campaigns/{cid}/pause", headers=h)).status_code == 409  # not running
    now = await client.post("/api/v1/campaigns", headers=h, json={"title": "Now", "body": "Hi", "lists": [lid]})
    assert (now.json()["state"], now.json()["queued"]) == ("running", 3)
    paused = await client.post(f"/api/v1/campaigns/{now.json()['id']}/pause", headers=h)
    assert paused.json()["state"] == "paused"
    resumed = await client.post(f"/api/v1/campaigns/{now.json()['id']}/resume", headers=h)
    assert resumed.json()["state"] == "running"
    canceled = await client.post(f"/api/v1/campaigns/{cid}/cancel", headers=h)
    assert canceled.json()["state"] == "canceled"
    listed = (await client.get("/api/v1/campaigns", headers=h)).json()
    assert [c["title"] for c in listed["data"]] == ["Now", "Later"] and listed["next"] is None
    assert [c["title"] for c in (await client.get("/api/v1/campaigns", params={"state": "canceled"}, headers=h)).json()["data"]] == ["Later"]
    other = await make_account(core, "eve@example.com", "eve password")
    assert (await client.get(f"/api/v1/campaigns/{cid}", headers=_h(other.bearer_token))).status_code == 404


async def test_optouts_through_the_api(client, core, alice) -> None:  # noqa: ANN001
    h = _h(alice.bearer_token)
    added = await client.post("/api/v1/optouts", headers=h, json={"phone": "349 1234567"})
    assert (added.status_code, added.json()) == (201, {"phone": "+393491234567", "changed": True})
    assert (await client.post("/api/v1/optouts", headers=h, json={"phone": "+393491234567"})).status_code == 200
    listed = (await client.get("/api/v1/optouts", headers=h)).json()
    assert [(o["phone"], o["source"], o["actor"][:4]) for o in listed["data"]] == [("+393491234567", "api", "api:")]
    settings = await client.put("/api/v1/optouts/settings", headers=h, json={"optout_policy": "all",
                                                                           "replies": {"stop": "Bye"}})  # fmt: skip
    assert settings.json() == {"optout_policy": "all", "replies": {"STOP": "Bye"}}
    assert (await client.get("/api/v1/optouts/settings", headers=h)).json() == settings.json()
    assert (await client.put("/api/v1/optouts/settings", headers=h, json={"replies": {"hello": "x"}})).status_code == 422
    assert (await client.delete("/api/v1/optouts/+393491234567", headers=h)).status_code == 204
    assert (await client.delete("/api/v1/optouts/+393491234567", headers=h)).status_code == 404
    history = (await client.get("/api/v1/optouts/export", params={"history": "true"}, headers=h)).text.splitlines()
    assert [line.split(",")[2] for line in history[1:]] == ["opted_out", "opted_in"]
    assert (await client.get("/api/v1/optouts/export", headers=h)).text.splitlines() == [
        "phone,at,channel,source,keyword,message_id,actor"
    ]
