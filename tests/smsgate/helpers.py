"""Shared by the SMS Gate tests: credentials, a registered phone, and the phone's side of the protocol."""

from __future__ import annotations

import base64

import httpx

from postino.core.devices import devices
from postino.core.service import Core

BASES = ("/3rdparty/v1", "/api/3rdparty/v1")
BASE = BASES[0]


def basic(email: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def phone(core: Core, account_id: int, name: str = "pixel") -> tuple[devices.Device, str]:
    """A phone of the account, with two SIM slots; its device token for the mobile API."""
    async with core.unit() as unit:
        return await devices.register(
            unit, account_id, name=name, sim_cards=[{"slotIndex": 0, "simNumber": 1}, {"slotIndex": 1, "simNumber": 2}]
        )


async def pull(client: httpx.AsyncClient, token: str) -> list[dict]:
    """What the phone is handed now (``GET /api/mobile/v1/message``)."""
    response = await client.get("/api/mobile/v1/message", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


async def report(client: httpx.AsyncClient, token: str, ids: list[str], state: str) -> None:
    body = [{"id": i, "state": state, "recipients": [], "states": {}} for i in ids]
    response = await client.patch("/api/mobile/v1/message", headers=bearer(token), json=body)
    assert response.status_code == 204, response.text
