"""``--sandbox``: the seed's test account, its fixed ref_nos, simulated sending; off unless asked."""

from __future__ import annotations

import httpx
import pytest

from postino.app import create_app
from postino.core.accounts import sandbox
from tests.support import wait_for

from . import seed
from .conftest import key

BASE = "/nusasms_api/1.0"


@pytest.fixture
async def sandbox_client(settings, core):  # noqa: ANN001, ANN201
    settings.sandbox = True
    application = create_app(settings, core)
    async with application.router.lifespan_context(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as c:
            yield c


async def test_sandbox_key_answers_the_test_ref_nos(sandbox_client) -> None:
    expected = {"queued": "Q", "sent": "S", "delivered": "D", "read": "R", "aborted": "A", "failed": "F"}
    for ref_no, letter in expected.items():
        r = await sandbox_client.get(f"{BASE}/whatsapp/status/{ref_no}", headers=key(sandbox.API_KEY))
        assert r.status_code == 200, r.text
        body = r.json()
        seed.same_shape(body, seed.STATUS, nullable=("sent_date", "read_date", "delivered_date", "caption", "media_url"))
        assert body["data"]["status"] == letter and body["data"]["ref_no"] == ref_no


async def test_sandbox_sends_without_credit_and_simulates_delivery(sandbox_client) -> None:
    r = await sandbox_client.post(
        f"{BASE}/whatsapp/message", headers=key(sandbox.API_KEY), json={"destination": "6281234567890", "message": "hi"}
    )
    assert r.status_code == 201, r.text
    ref = r.json()["data"]["ref_no"]

    async def read() -> bool:
        s = await sandbox_client.get(f"{BASE}/whatsapp/status/{ref}", headers=key(sandbox.API_KEY))
        return s.json()["data"]["status"] == "R"

    await wait_for(read, timeout=10, interval=0.1, message="sandbox message to be read")
    v3 = await sandbox_client.get(
        "/api/v3/sendsms/plain",
        params={"user": sandbox.EMAIL, "password": sandbox.PASSWORD, "SMSText": "Hello", "GSM": "6285100803380", "output": "json"},
    )
    assert v3.json()["results"][0]["status"] == "0"


async def test_sandbox_is_off_unless_asked(client) -> None:
    r = await client.get(f"{BASE}/whatsapp/status/queued", headers=key(sandbox.API_KEY))
    assert r.status_code == 401
