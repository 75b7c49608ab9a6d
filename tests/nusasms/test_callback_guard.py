"""Callback URLs are checked when they are given: ``wa_phone_check``'s ``callback_url`` (422 in the
JSON API's shape) and v3's ``pushurl`` (status -28), with core's SSRF guard."""

from __future__ import annotations

from sqlalchemy import select

from postino.db.tables import messages, outbox

from .conftest import key, sms_phone

BASE = "/nusasms_api/1.0"
PLAIN = "/api/v3/sendsms/plain"
NUMBERS = ["6281234567890"]


async def _outbox_urls(core) -> list[str]:  # noqa: ANN001
    async with core.reader() as unit:
        return list((await unit.conn.execute(select(outbox.c.url).order_by(outbox.c.id))).scalars())


async def test_wa_phone_check_refuses_a_loopback_callback_by_default(client, core, alice) -> None:
    core.settings.allow_private_urls = False
    r = await client.post(
        f"{BASE}/wa_phone_check", headers=key(alice.api_key),
        json={"phone_numbers": NUMBERS, "callback_url": "http://0177.0.0.1:9/x"},
    )  # fmt: skip
    assert r.status_code == 422
    assert r.json() == {
        "detail": [
            {
                "loc": ["body", "callback_url"],
                "msg": "Invalid callback_url: Address 127.0.0.1 of 0177.0.0.1 is not public (loopback or private)",
                "type": "value_error",
            }
        ]
    }
    assert await _outbox_urls(core) == []  # nothing queued, not even the account webhooks' event


async def test_wa_phone_check_refuses_metadata_even_with_private_urls(client, core, alice) -> None:
    assert core.settings.allow_private_urls
    for url in ("http://[::ffff:169.254.169.254]/latest/meta-data/", "http://2852039166/", "http://[fd00:ec2::254]/"):
        r = await client.post(
            f"{BASE}/wa_phone_check", headers=key(alice.api_key), json={"phone_numbers": NUMBERS, "callback_url": url}
        )
        assert r.status_code == 422, url
        (problem,) = r.json()["detail"]
        assert problem["loc"] == ["body", "callback_url"] and problem["type"] == "value_error"
        assert problem["msg"].startswith("Invalid callback_url: Address ")
        assert "link-local or cloud metadata" in problem["msg"]
    r = await client.post(
        f"{BASE}/wa_phone_check", headers=key(alice.api_key),
        json={"phone_numbers": NUMBERS, "callback_url": "http://0x7f.1:9/cb"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert await _outbox_urls(core) == ["http://127.0.0.1:9/cb"]  # the address written the way it is called


async def test_wa_phone_check_takes_a_named_metadata_network(client, core, alice) -> None:
    core.settings.allow_private_urls = False
    core.settings.allowed_private_networks = ["169.254.169.254/32"]
    r = await client.post(
        f"{BASE}/wa_phone_check", headers=key(alice.api_key),
        json={"phone_numbers": NUMBERS, "callback_url": "http://[::ffff:169.254.169.254]/cb"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    r = await client.post(
        f"{BASE}/wa_phone_check", headers=key(alice.api_key),
        json={"phone_numbers": NUMBERS, "callback_url": "http://127.0.0.1:9/cb"},
    )  # fmt: skip
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "callback_url"]


async def _plain(client, who, **params: str):  # noqa: ANN001, ANN202
    return await client.get(
        PLAIN,
        params={"user": who.email, "password": who.password, "SMSText": "Hello", "GSM": "393491234567",
                "output": "json", **params},
    )  # fmt: skip


async def test_v3_pushurl_refused_with_its_status_code(client, core, alice) -> None:
    await sms_phone(core, alice.id)
    core.settings.allow_private_urls = False
    for url in ("http://0177.0.0.1:9/dr", "http://[::ffff:127.0.0.1]:9/dr", "http://169.254.169.254/dr"):
        r = await _plain(client, alice, pushurl=url)
        assert r.status_code == 200
        assert r.json() == {"results": [{"status": "-28", "messageid": "", "destination": "393491234567"}]}, url
    xml = await client.get(
        PLAIN, params={"user": alice.email, "password": alice.password, "SMSText": "Hi", "GSM": "393491234567",
                       "pushurl": "http://2130706433:9/dr"},
    )  # fmt: skip
    assert xml.status_code == 200 and "<status>-28</status>" in xml.text
    async with core.reader() as unit:
        assert (await unit.conn.execute(select(messages.c.id))).all() == []  # nothing accepted


async def test_v3_pushurl_follows_the_operator_settings(client, core, alice) -> None:
    await sms_phone(core, alice.id)
    assert core.settings.allow_private_urls
    r = await _plain(client, alice, pushurl="http://[::ffff:169.254.169.254]/dr")
    assert r.json()["results"][0]["status"] == "-28"
    r = await _plain(client, alice, pushurl="http://0x7f.1:9/dr")
    assert r.json()["results"][0]["status"] == "0", r.text
    async with core.reader() as unit:
        (extra,) = (await unit.conn.execute(select(messages.c.extra))).scalars()
    assert extra["report_url"] == "http://127.0.0.1:9/dr"
