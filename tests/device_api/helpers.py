"""Shared steps of the device API tests: register a phone, queue messages, sign webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import httpx

from postino.core.accounts import accounts
from postino.core.devices import devices
from postino.core.messages import messages
from postino.core.service import Core

API = "/api/mobile/v1"
APP_AGENT = {"User-Agent": "me.capcom.smsgateway/1.40.0"}


async def register(client: httpx.AsyncClient, registration_token: str, **body: object) -> dict:
    payload = {"name": "Google/sdk_gphone64_x86_64", "pushToken": None, **body}
    response = await client.post(
        f"{API}/device", json=payload, headers={"Authorization": f"Bearer {registration_token}", **APP_AGENT}
    )
    assert response.status_code == 201, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **APP_AGENT}


def basic(login: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()}


async def device_of(core: Core, ext_id: str) -> devices.Device:
    async with core.reader() as unit:
        device = await devices.by_ext_id(unit, ext_id)
    assert device is not None
    return device


async def queue(core: Core, account_id: int, device_id: int, *bodies: str, **draft: object) -> list[int]:
    async with core.unit() as unit:
        account = await accounts.get(unit, account_id)
        accepted = await messages.submit(
            unit,
            account,
            [messages.Draft(recipient="+393491234567", body=b, device_id=device_id, slot=0, **draft) for b in bodies],
        )
    return accepted.ids


def signed(key: str, body: bytes, *, at: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if at is None else at)
    signature = hmac.new(key.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Signature": signature, "X-Timestamp": stamp}
