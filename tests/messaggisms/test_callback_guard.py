"""``options.callback_url`` is checked when it is given, with core's SSRF guard: a refusal is
422 with code 303 in the MessaggiSMS envelope, and nothing of the request is kept."""

from __future__ import annotations

from sqlalchemy import func, select

from postino.db.tables import batches, messages

URL = "/messages/"


async def _post(client, h, callback_url: str, **body):  # noqa: ANN001, ANN003, ANN202
    body = {"sender": "alberto", "body": "hello", "recipients": "+39-3491234567", **body}
    body["options"] = {**body.get("options", {}), "callback_url": callback_url}
    return await client.post(URL, json=body, headers=h)


async def _count(core, table) -> int:  # noqa: ANN001
    async with core.reader() as unit:
        return (await unit.conn.execute(select(func.count()).select_from(table))).scalar_one()


async def test_a_loopback_callback_is_refused_by_default(client, core, alice, phone, h) -> None:
    core.settings.allow_private_urls = False
    r = await _post(client, h, "http://0177.0.0.1:9/x")
    assert r.status_code == 422
    assert r.json() == {
        "data": None,
        "success": False,
        "message": "'options.callback_url' is not allowed: "
        "Address 127.0.0.1 of 0177.0.0.1 is not public (loopback or private)",
        "credit": r.json()["credit"],
        "error": 303,
    }
    assert isinstance(r.json()["credit"], str)
    assert await _count(core, messages) == 0 and await _count(core, batches) == 0


async def test_metadata_callbacks_are_refused_even_with_private_urls(client, core, alice, phone, h) -> None:
    assert core.settings.allow_private_urls
    for url in ("http://[::ffff:169.254.169.254]/latest/", "http://0xa9fea9fe/", "http://100.100.100.200/"):
        r = await _post(client, h, url)
        body = r.json()
        assert (r.status_code, body["success"], body["data"], body["error"]) == (422, False, None, 303), url
        assert body["message"].startswith("'options.callback_url' is not allowed: Address ")
        assert "link-local or cloud metadata" in body["message"]
    for url in ("http://256.0.0.1/", "http://1.2.3.4.5/"):
        r = await _post(client, h, url)
        assert (r.status_code, r.json()["error"]) == (422, 303), url
    assert await _count(core, messages) == 0
    r = await _post(client, h, "http://2130706433:9/cb")  # loopback, allowed here: stored as it is called
    assert r.status_code == 201, r.text
    assert r.json()["data"][0]["options"]["callback_url"] == "http://127.0.0.1:9/cb"
    async with core.reader() as unit:
        (extra,) = (await unit.conn.execute(select(messages.c.extra))).scalars()
    assert extra["callback_url"] == "http://127.0.0.1:9/cb"


async def test_an_open_transaction_cannot_take_a_blocked_callback(client, core, alice, phone, h) -> None:
    r = await _post(client, h, "https://example.com/cb", transaction=True)
    assert r.status_code == 201, r.text
    mid = r.json()["data"][0]["id"]
    core.settings.allow_private_urls = False
    put = await client.put(f"{URL}{mid}", headers=h, json={"options": {"callback_url": "http://[::ffff:127.0.0.1]/"}})
    assert (put.status_code, put.json()["success"], put.json()["data"], put.json()["error"]) == (422, False, None, 303)
    assert "not public" in put.json()["message"]
    got = await client.get(f"{URL}{mid}", headers=h)
    assert got.json()["data"][0]["options"]["callback_url"] == "https://example.com/cb"  # unchanged


async def test_a_named_network_is_allowed_without_private_urls(client, core, alice, phone, h) -> None:
    core.settings.allow_private_urls = False
    core.settings.allowed_private_networks = ["169.254.169.254/32"]
    r = await _post(client, h, "http://169.254.169.254/cb")
    assert r.status_code == 201, r.text
    r = await _post(client, h, "http://169.254.169.253/cb")
    assert (r.status_code, r.json()["error"]) == (422, 303)
