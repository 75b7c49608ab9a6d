"""media_url fetching (SSRF guard, caps, types), the 50 ms rate limit, phone check, push reports."""

from __future__ import annotations

import asyncio
import base64

from sqlalchemy import func, select

from postino.core.messages import lifecycle, queue
from postino.db.tables import messages, outbox

from .conftest import GIF, MP4, PNG, key, wa_phone

BASE = "/nusasms_api/1.0"


def _media(url: str) -> dict:
    return {"media_url": url, "destination": "6281234567890", "caption": "Caption text"}


async def test_loopback_media_url_is_refused_by_default_and_fetched_when_allowed(app, client, core, alice, file_server) -> None:
    await wa_phone(core, alice.id)
    file_server.files["/image_name.png"] = PNG
    url = file_server.url("/image_name.png")
    app.state.settings.allow_private_urls = False
    r = await client.post(f"{BASE}/whatsapp/media", headers=key(alice.api_key), data=_media(url))
    assert r.status_code == 400 and r.json()["error"] is True
    assert "not public" in r.json()["message"]
    assert file_server.hits == []  # refused before any connection
    app.state.settings.allow_private_urls = True
    r = await client.post(f"{BASE}/whatsapp/media", headers=key(alice.api_key), data=_media(url))
    assert r.status_code == 201, r.text
    assert r.json()["data"]["media_url"] == url and file_server.hits == ["/image_name.png"]
    status = await client.get(f"{BASE}/whatsapp/status/{r.json()['data']['ref_no']}", headers=key(alice.api_key))
    assert status.json()["data"]["media_url"] == url


async def test_oversized_and_wrong_type_files_are_refused_with_the_seed_message(client, core, alice, file_server) -> None:
    await wa_phone(core, alice.id)
    file_server.files["/big.png"] = PNG + b"\x00" * (512 * 1024)
    file_server.files["/ok.mp4"] = MP4 + b"\x00" * (700 * 1024)
    file_server.files["/big.mp4"] = MP4 + b"\x00" * (1024 * 1024)
    file_server.files["/anim.gif"] = GIF
    expect = {
        "/big.png": (400, "File exceed limits (max 512 KB)"),
        "/ok.mp4": (201, None),
        "/big.mp4": (400, "File exceed limits (max 1 MB)"),
        "/anim.gif": (400, "Invalid file type (allowed: jpg, jpeg, png, pdf, webm, mp4)"),
    }
    for path, (code, message) in expect.items():
        r = await client.post(f"{BASE}/whatsapp/media", headers=key(alice.api_key), json=_media(file_server.url(path)))
        assert r.status_code == code, (path, r.text)
        if message:
            assert r.json() == {"error": True, "error_code": 400, "message": message, "description": None, "data": None}
    big64 = base64.b64encode(PNG + b"\x00" * (512 * 1024)).decode()
    r = await client.post(
        f"{BASE}/whatsapp/media", headers=key(alice.api_key),
        json={"destination": "6281234567890", "media_base64": big64, "media_url": file_server.url("/ok.mp4")},
    )  # fmt: skip  (base64 wins over media_url)
    assert r.status_code == 400 and r.json()["message"] == "File exceed limits (max 512 KB)"
    r = await client.post(f"{BASE}/whatsapp/media", headers=key(alice.api_key), json={"destination": "6281234567890"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "media_url"]


async def test_21_requests_in_one_window_get_a_429_and_none_is_lost(client, core, alice) -> None:
    await wa_phone(core, alice.id)

    async def one(i: int):  # noqa: ANN202
        return await client.post(
            f"{BASE}/whatsapp/message", headers=key(alice.api_key),
            json={"destination": "6281234567890", "message": f"burst {i}"},
        )  # fmt: skip

    answers = await asyncio.gather(*(one(i) for i in range(21)))
    codes = [a.status_code for a in answers]
    assert set(codes) <= {201, 429}, codes
    assert codes.count(429) >= 1
    assert all(a.json()["error_code"] == 429 and "Retry-After" in a.headers for a in answers if a.status_code == 429)
    accepted = {a.json()["data"]["ref_no"] for a in answers if a.status_code == 201}
    async with core.reader() as unit:
        stored = {str(i) for i in (await unit.conn.execute(select(messages.c.id).where(messages.c.account_id == alice.id))).scalars()}
    assert stored == accepted


async def test_wa_phone_check_accepts_and_queues_the_callback(client, core, alice) -> None:
    payload = {"phone_numbers": ["6281234567890", "62212345678", "99912345678"], "callback_url": "https://example.com/cb"}
    r = await client.post(f"{BASE}/wa_phone_check", headers=key(alice.api_key), json=payload)
    assert r.status_code == 201
    assert r.json() == {"error": False, "error_code": 0, "message": r.json()["message"], "data": None}
    async with core.reader() as unit:
        row = (await unit.conn.execute(select(outbox).where(outbox.c.account_id == alice.id))).one()
    assert row.url == "https://example.com/cb" and row.event == "wa_phone_check.done"
    assert row.payload == {
        "results": [
            {"phone_number": "6281234567890", "status": "valid"},  # Indonesian mobile
            {"phone_number": "62212345678", "status": "invalid"},  # Jakarta fixed line
            {"phone_number": "99912345678", "status": "invalid"},  # no such country
        ]
    }
    # the curl form: one field holding a JSON list
    r = await client.post(
        f"{BASE}/wa_phone_check", headers=key(alice.api_key),
        data={"phone_numbers": '["6281234567890", "6281234567891"]', "callback_url": "https://example.com/cb"},
    )  # fmt: skip
    assert r.status_code == 201, r.text


async def test_wa_phone_check_limits(client, alice) -> None:
    bad = [
        {"phone_numbers": []},
        {"phone_numbers": ["1234567"]},
        {"phone_numbers": ["123456789012345"]},
        {"phone_numbers": ["62812345abc"]},
        {"phone_numbers": [str(6281200000000 + i) for i in range(101)]},
        {"phone_numbers": ["6281234567890"], "callback_url": "ftp://example.com/x"},
    ]
    for payload in bad:
        r = await client.post(f"{BASE}/wa_phone_check", headers=key(alice.api_key), json=payload)
        assert r.status_code == 422, (payload, r.text)
        assert r.json()["detail"][0]["loc"][:2] in (["body", "phone_numbers"], ["body", "callback_url"])


async def test_push_callback_reports_each_state_change(client, core, alice) -> None:
    from postino.core.accounts import accounts

    async with core.unit() as unit:
        await accounts.update_settings(unit, alice.id, push_url="https://example.com/push")
    device = await wa_phone(core, alice.id)
    r = await client.post(
        f"{BASE}/whatsapp/message", headers=key(alice.api_key), json={"destination": "6281234567890", "message": "hi"}
    )
    ref = int(r.json()["data"]["ref_no"])
    async with core.unit() as unit:
        await queue.claim_for_device(unit, device.id)
        for state in (lifecycle.SENT, lifecycle.DELIVERED, lifecycle.READ):
            await lifecycle.move(unit, [ref], state)
    async with core.reader() as unit:
        rows = (
            await unit.conn.execute(
                select(outbox).where(outbox.c.message_id == ref, outbox.c.event == "message.report").order_by(outbox.c.id)
            )
        ).all()
    assert [row.payload["status"] for row in rows] == ["S", "D", "R"]
    assert {row.url for row in rows} == {"https://example.com/push"}
    assert rows[0].payload["ref_no"] == str(ref) and rows[0].payload["destination"] == "6281234567890"
    assert rows[1].payload["dr_status"] == "DELIVERED"
    async with core.reader() as unit:
        assert await unit.conn.scalar(select(func.count()).select_from(outbox).where(outbox.c.message_id == ref)) >= 3
