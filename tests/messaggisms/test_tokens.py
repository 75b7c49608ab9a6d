"""/tokens/: bearer tokens with scopes and expiry, managed with the login or a tokens:manage token."""

from __future__ import annotations

import base64

from .conftest import bearer


def basic(email: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


async def test_create_list_revoke(client, alice, phone) -> None:
    login = basic(alice.email, alice.password)
    r = await client.post("/tokens/", headers=login, json={"name": "reader", "expires_at": "2040-01-01T00:00:00Z",
                                                          "scopes": ["messages:read"]})
    assert r.status_code == 201, r.text
    token = r.json()["data"]
    assert token["token"].startswith("pst_") and token["scopes"] == ["messages:read"]
    assert token["expires_at"] == "2040-01-01T00:00:00Z"
    reader = bearer(token["token"])
    assert (await client.get("/messages/", headers=reader)).status_code == 200
    r = await client.post("/messages/", headers=reader, json={"sender": "abc", "body": "x", "recipients": "+39-3491234567"})
    assert (r.status_code, r.json()["error"], r.json()["success"]) == (403, 101, False)
    assert (await client.delete("/messages/5cf7cc139f272546624d3795", headers=reader)).status_code == 403
    listed = (await client.get("/tokens", headers=login)).json()["data"]
    assert "reader" in [t["name"] for t in listed]
    assert all("token" not in t for t in listed)
    r = await client.delete(f"/tokens/{token['id']}/", headers=login)
    assert r.status_code == 200 and r.json()["message"] == f"{token['id']} Deleted"
    r = await client.get("/messages/", headers=reader)
    assert (r.status_code, r.json()["error"]) == (401, 100)
    assert r.headers["www-authenticate"] == "Bearer"
    assert (await client.delete(f"/tokens/{token['id']}", headers=login)).status_code == 404
    assert (await client.delete("/tokens/abc", headers=login)).status_code == 406


async def test_bad_login_and_missing_token(client, alice) -> None:
    r = await client.post("/tokens/", headers=basic(alice.email, "wrong"), json={})
    assert (r.status_code, r.json()["error"], r.json()["credit"]) == (401, 100, None)
    assert (await client.get("/tokens/")).status_code == 401
    assert (await client.get("/messages/")).status_code == 401
    assert (await client.get("/messages/", headers=bearer("pst_nope"))).status_code == 401
    assert (await client.get("/messages/", headers=bearer(alice.sg24_token))).status_code == 401
    assert (await client.get("/tokens/", headers=bearer(alice.bearer_token))).status_code == 200  # every scope
    r = await client.post("/tokens/", headers=basic(alice.email, alice.password), json={})
    assert r.json()["data"]["scopes"] == ["messages:read", "messages:write", "messages:delete"]
    r = await client.get("/tokens/", headers=bearer(r.json()["data"]["token"]))
    assert (r.status_code, r.json()["error"]) == (403, 101)


async def test_expired_token_is_refused(client, core, alice) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from postino.core.clock import utcnow
    from postino.db.tables import credentials

    r = await client.post("/tokens/", headers=basic(alice.email, alice.password),
                          json={"expires_at": (utcnow() + timedelta(hours=1)).isoformat()})
    token = r.json()["data"]
    assert (await client.get("/messages/", headers=bearer(token["token"]))).status_code == 200
    async with core.unit() as unit:
        await unit.conn.execute(
            update(credentials).where(credentials.c.id == token["id"]).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    r = await client.get("/messages/", headers=bearer(token["token"]))
    assert (r.status_code, r.json()["message"]) == (401, "Credential expired")
    r = await client.post("/tokens/", headers=basic(alice.email, alice.password), json={"expires_at": "2001-01-01"})
    assert (r.status_code, r.json()["error"]) == (422, 303)
    r = await client.post("/tokens/", headers=basic(alice.email, alice.password), json={"scopes": ["root"]})
    assert (r.status_code, r.json()["error"]) == (422, 303)


async def test_manager_token_cannot_escalate(client, alice, bob) -> None:
    login = basic(alice.email, alice.password)
    manager = (await client.post("/tokens/", headers=login, json={
        "name": "ops", "scopes": ["tokens:manage", "messages:read"], "expires_at": "2035-01-01"})).json()["data"]
    m = bearer(manager["token"])
    r = await client.post("/tokens/", headers=m, json={"scopes": ["messages:read"], "expires_at": "2034-01-01"})
    assert r.status_code == 201
    r = await client.post("/tokens/", headers=m, json={"scopes": ["messages:write"], "expires_at": "2034-01-01"})
    assert r.status_code == 403
    r = await client.post("/tokens/", headers=m, json={"scopes": ["messages:read"]})
    assert r.status_code == 422  # no expiry would outlive the creator
    assert len((await client.get("/tokens/", headers=m)).json()["data"]) == 3
    # bob cannot see or revoke alice's tokens
    bob_login = basic(bob.email, bob.password)
    assert all(t["id"] != manager["id"] for t in (await client.get("/tokens/", headers=bob_login)).json()["data"])
    assert (await client.delete(f"/tokens/{manager['id']}", headers=bob_login)).status_code == 404
    assert (await client.get("/messages/", headers=m)).status_code == 200
