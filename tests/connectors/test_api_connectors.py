"""``/api/v1/connectors`` and ``/api/v1/routes``: each account manages and sees only its own."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from postino.core.accounts import credentials, sealed
from postino.core.routing import connectors as records
from postino.db.tables import connectors as connectors_table
from postino.db.tables import routes as routes_table
from tests.support import free_port

PASSWORD = "s3cret99"


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def smpp(name: str = "carrier-a", **change: Any) -> dict[str, Any]:
    """An SMSC on loopback where nothing listens: the tests' settings allow private addresses."""
    return {"kind": "smpp", "name": name, "host": "127.0.0.1", "port": PORT, "system_id": "postino",
            "password": PASSWORD, **change}  # fmt: skip


PORT = free_port()


async def add(client, token: str, **change: Any) -> dict[str, Any]:  # noqa: ANN001
    created = await client.post("/api/v1/connectors", headers=auth(token), json=smpp(**change))
    assert created.status_code == 201, created.text
    return created.json()


async def test_crud_never_answers_a_secret_and_seals_it(client, core, alice, bob, settings) -> None:  # noqa: ANN001
    created = await client.post("/api/v1/connectors", headers=auth(alice.bearer_token),
                                json=smpp(window=5, tps=20, tls=False, default_sender="Shop"))  # fmt: skip
    assert created.status_code == 201, created.text
    body = created.json()
    assert {k: v for k, v in body.items() if k not in ("id", "created_at")} == {
        "name": "carrier-a", "kind": "smpp", "host": "127.0.0.1", "port": PORT, "system_id": "postino",
        "window": 5, "tps": 20, "tls": False, "default_sender": "Shop", "state": "down", "state_detail": "",
        "up": False, "queue_depth": 0,
    }  # fmt: skip

    listed = await client.get("/api/v1/connectors", headers=auth(alice.bearer_token))
    assert listed.status_code == 200 and listed.json()["data"][0]["id"] == body["id"]
    one = await client.get(f"/api/v1/connectors/{body['id']}", headers=auth(alice.bearer_token))
    shown = one.json()
    assert one.status_code == 200 and {k: shown[k] for k in ("id", "name", "host", "system_id")} == {
        k: body[k] for k in ("id", "name", "host", "system_id")
    }
    assert {"bind_state", "window_in_use", "counts", "served_here"} <= set(shown)
    assert shown["bind_state"] in ("down", "binding") and shown["up"] is False
    for answer in (created, listed, one):
        assert PASSWORD not in answer.text and "password" not in answer.text

    async with core.reader() as unit:
        (row,) = (await unit.conn.execute(select(connectors_table))).all()
        record = await records.get(unit, alice.id, body["id"])
    assert row.account_id == alice.id and PASSWORD not in json.dumps([str(v) for v in row])
    assert row.secrets.startswith("enc1:")
    assert record.secrets(sealed.for_settings(settings)) == {"password": PASSWORD}

    # Bob's token finds nothing of Alice's: it does not exist for him.
    assert (await client.get("/api/v1/connectors", headers=auth(bob.bearer_token))).json() == {"data": []}
    for method in ("GET", "DELETE"):
        other = await client.request(method, f"/api/v1/connectors/{body['id']}", headers=auth(bob.bearer_token))
        assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    assert (await client.get("/api/v1/connectors/99999999999999999999", headers=auth(alice.bearer_token))).status_code == 404

    assert (await client.delete(f"/api/v1/connectors/{body['id']}", headers=auth(alice.bearer_token))).status_code == 204
    assert (await client.get("/api/v1/connectors", headers=auth(alice.bearer_token))).json() == {"data": []}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"port": 70000}, "port"),
        ({"port": "2775"}, "port"),  # a string is no port number, even of digits
        ({"port": None}, "port"),
        ({"tls": "false"}, "tls"),  # nor "false" a flag
        ({"window": 0}, "window"),
        ({"password": "nine-char"}, "password"),
        ({"password": None}, "password"),
        ({"passwrod": "x"}, "passwrod"),  # misspelt: refused, not ignored
        ({"kind": "carrier-pigeon"}, "kind"),
        ({"name": "a b"}, "name"),
        ({"name": 7}, "name"),
    ],
)
async def test_a_wrong_setting_is_named(client, core, alice, change: dict, field: str) -> None:  # noqa: ANN001
    refused = await client.post("/api/v1/connectors", headers=auth(alice.bearer_token), json=smpp(**change))
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["field"] == field and error["code"] == "invalid"
    assert "nine-char" not in refused.text and PASSWORD not in refused.text
    if field == "kind":
        assert "smpp" in error["message"]
    async with core.reader() as unit:
        assert await records.list_for(unit, alice.id) == []


async def test_a_name_is_taken_once_per_account(client, alice, bob) -> None:  # noqa: ANN001
    await add(client, alice.bearer_token)
    again = await client.post("/api/v1/connectors", headers=auth(alice.bearer_token), json=smpp())
    assert again.status_code == 409 and again.json()["error"] == {
        "code": "conflict", "message": "A connector named 'carrier-a' exists", "field": "name"
    }
    await add(client, bob.bearer_token)  # another account's names are its own


async def test_the_smsc_host_passes_the_network_policy(client, core, alice, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(core.settings, "allow_private_urls", False)
    for host in ("127.0.0.1", "localhost", "0x7f.1", "10.1.2.3", "169.254.169.254", "::1"):
        refused = await client.post("/api/v1/connectors", headers=auth(alice.bearer_token), json=smpp(host=host))
        assert refused.status_code == 422, (host, refused.text)
        assert refused.json()["error"]["field"] == "host", host
        assert refused.json()["error"]["code"] in ("blocked_url", "invalid"), host
    assert (await client.get("/api/v1/connectors", headers=auth(alice.bearer_token))).json() == {"data": []}

    monkeypatch.setattr(core.settings, "allow_private_urls", True)  # the operator allows a private SMSC
    await add(client, alice.bearer_token)
    metadata = await client.post("/api/v1/connectors", headers=auth(alice.bearer_token),
                                 json=smpp("meta", host="169.254.169.254"))  # fmt: skip
    assert metadata.status_code == 422 and metadata.json()["error"]["code"] == "blocked_url"


async def test_scopes_guard_reading_and_changing(client, core, alice) -> None:  # noqa: ANN001
    assert (await client.get("/api/v1/connectors")).status_code == 401
    assert (await client.get("/api/v1/routes", headers=auth("pst_nope"))).status_code == 401
    async with core.unit() as unit:
        reader = await credentials.issue(unit, alice.id, "bearer", scopes=["connectors:read"])
        messages_only = await credentials.issue(unit, alice.id, "bearer", scopes=["messages:read", "messages:write"])
    assert (await client.get("/api/v1/connectors", headers=auth(reader.secret))).status_code == 200
    assert (await client.get("/api/v1/routes", headers=auth(reader.secret))).status_code == 200
    denied = await client.post("/api/v1/connectors", headers=auth(reader.secret), json=smpp())
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    denied = await client.post("/api/v1/routes", headers=auth(reader.secret),
                               json={"channel": "sms", "connectors": [{"name": "x"}]})  # fmt: skip
    assert denied.status_code == 403
    assert (await client.get("/api/v1/connectors", headers=auth(messages_only.secret))).status_code == 403


async def test_routes_store_weights_and_positions_and_hold_their_connectors(client, core, alice, bob) -> None:  # noqa: ANN001
    token = auth(alice.bearer_token)
    a = await add(client, alice.bearer_token, name="a")
    b = await add(client, alice.bearer_token, name="b")

    created = await client.post("/api/v1/routes", headers=token, json={
        "channel": "sms", "connectors": [{"name": "a", "weight": 3}, {"id": b["id"]}], "prefixes": ["+39", "62"],
    })  # fmt: skip
    assert created.status_code == 201, created.text
    first = created.json()
    assert {k: v for k, v in first.items() if k != "id"} == {
        "position": 1, "channel": "sms", "prefixes": ["+39", "+62"], "otp": False, "slot": None,
        "connectors": [{"id": a["id"], "name": "a", "weight": 3}, {"id": b["id"], "name": "b", "weight": 1}],
        "fallback": None,
    }  # fmt: skip
    async with core.reader() as unit:
        row = (await unit.conn.execute(select(routes_table).where(routes_table.c.id == first["id"]))).one()
    assert row.targets == [{"connector_id": a["id"], "weight": 3}, {"connector_id": b["id"], "weight": 1}]

    wa = (await client.post("/api/v1/routes", headers=token, json={
        "channel": "whatsapp", "connectors": [{"name": "b"}], "otp": True, "position": 1,
        "fallback": {"channel": "sms", "after_seconds": 30},
    })).json()  # fmt: skip
    assert wa["position"] == 1 and wa["fallback"] == {"channel": "sms", "after_seconds": 30}
    listed = (await client.get("/api/v1/routes", headers=token)).json()["data"]
    assert [(r["id"], r["position"]) for r in listed] == [(wa["id"], 1), (first["id"], 2)]
    assert (await client.get("/api/v1/routes", headers=auth(bob.bearer_token))).json() == {"data": []}

    for body, field in (
        ({"channel": "sms", "connectors": [{"name": "nope"}]}, "connectors.0.name"),
        ({"channel": "sms", "connectors": [{"id": a["id"]}, {"id": 999}]}, "connectors.1.id"),
        ({"channel": "sms", "connectors": [{"name": "a", "id": a["id"]}]}, "connectors.0"),
        ({"channel": "sms", "connectors": [{"name": "a", "weight": 0}]}, "connectors.0.weight"),
        ({"channel": "sms", "connectors": []}, "connectors"),
        ({"channel": "fax", "connectors": [{"name": "a"}]}, "channel"),
        ({"channel": "sms", "connectors": [{"name": "a"}], "prefixes": ["+39x"]}, "prefixes"),
        ({"channel": "sms", "connectors": [{"name": "a"}], "position": 9}, "position"),
        ({"channel": "sms", "connectors": [{"name": "a"}], "fallback": {"channel": "sms"}}, "fallback.channel"),
        ({"channel": "sms", "connectors": [{"name": "a"}], "colour": "red"}, "colour"),
    ):
        refused = await client.post("/api/v1/routes", headers=token, json=body)
        assert refused.status_code == 422 and refused.json()["error"]["field"] == field, (body, refused.text)
    # Bob cannot route through Alice's connector, by name or by id.
    for target in ({"name": "a"}, {"id": a["id"]}):
        refused = await client.post("/api/v1/routes", headers=auth(bob.bearer_token),
                                    json={"channel": "sms", "connectors": [target]})  # fmt: skip
        assert refused.status_code == 422, refused.text

    held = await client.delete(f"/api/v1/connectors/{a['id']}", headers=token)
    assert held.status_code == 409 and held.json()["error"]["code"] == "conflict"
    assert f"Route {first['id']}" in held.json()["error"]["message"]
    assert (await client.delete(f"/api/v1/routes/{first['id']}", headers=auth(bob.bearer_token))).status_code == 404
    assert (await client.delete(f"/api/v1/routes/{first['id']}", headers=token)).status_code == 204
    assert (await client.delete(f"/api/v1/routes/{first['id']}", headers=token)).status_code == 404
    assert (await client.delete(f"/api/v1/connectors/{a['id']}", headers=token)).status_code == 204
    remaining = (await client.get("/api/v1/routes", headers=token)).json()["data"]
    assert [(r["id"], r["position"]) for r in remaining] == [(wa["id"], 1)]


async def test_a_whatsapp_cloud_connector_keeps_its_three_secrets_sealed_and_unsaid(client, core, alice, settings) -> None:  # noqa: ANN001
    secrets = {"token": "EAAG-long-lived-token-1234", "app_secret": "app-secret-5678", "verify_token": "verify-9012"}
    created = await client.post("/api/v1/connectors", headers=auth(alice.bearer_token), json={
        "kind": "whatsapp_cloud", "name": "wa", "phone_number_id": "106540352242922", "display_number": "+62 811 0000 0001",
        "base_url": "http://127.0.0.1:9", "api_version": "v21.0", **secrets})  # fmt: skip
    assert created.status_code == 201, created.text
    body = created.json()
    assert {k: body[k] for k in ("name", "kind", "phone_number_id", "display_number", "base_url", "api_version")} == {
        "name": "wa", "kind": "whatsapp_cloud", "phone_number_id": "106540352242922", "display_number": "6281100000001",
        "base_url": "http://127.0.0.1:9", "api_version": "v21.0"}  # fmt: skip
    shown = await client.get(f"/api/v1/connectors/{body['id']}", headers=auth(alice.bearer_token))
    listed = await client.get("/api/v1/connectors", headers=auth(alice.bearer_token))
    assert shown.status_code == 200 and listed.status_code == 200
    for answer in (created, shown, listed):
        for name, value in secrets.items():
            assert value not in answer.text and f'"{name}"' not in answer.text
    async with core.reader() as unit:
        (row,) = (await unit.conn.execute(select(connectors_table))).all()
        record = await records.get(unit, alice.id, body["id"])
    assert row.secrets.startswith("enc1:") and not any(v in json.dumps([str(c) for c in row]) for v in secrets.values())
    assert record.secrets(sealed.for_settings(settings)) == secrets

    missing = await client.post("/api/v1/connectors", headers=auth(alice.bearer_token), json={
        "kind": "whatsapp_cloud", "name": "wa2", "phone_number_id": "106540352242922", "token": "t"})  # fmt: skip
    assert missing.status_code == 422 and missing.json()["error"]["field"] in ("app_secret", "verify_token")
    async with core.reader() as unit:
        assert len((await unit.conn.execute(select(connectors_table))).all()) == 1  # nothing of the refused one
