"""Fixtures of the MessaggiSMS tests: a phone with an SMS slot for alice, header helpers."""

from __future__ import annotations

import pytest_asyncio

from postino.core.devices import devices


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def add_phone(core, account_id: int, name: str = "pixel"):  # noqa: ANN001, ANN201
    async with core.unit() as unit:
        device, _token = await devices.register(
            unit, account_id, name=name, sim_cards=[{"slotIndex": 0, "simNumber": 1}]
        )
    return device


@pytest_asyncio.fixture
async def phone(core, alice):  # noqa: ANN001, ANN201
    return await add_phone(core, alice.id)


@pytest_asyncio.fixture
async def h(alice) -> dict[str, str]:  # noqa: ANN001
    """Alice's bearer header (a token with every scope)."""
    return bearer(alice.bearer_token)


async def deliver(core, device_id: int, *, to: str = "delivered") -> list[int]:  # noqa: ANN001
    """Play the phone: claim what is queued for it and report it sent, then ``to``."""
    from postino.core.messages import lifecycle, queue

    async with core.unit() as unit:
        claimed = await queue.claim_for_device(unit, device_id, limit=100_000)
        ids = [r.id for r in claimed]
        await lifecycle.move(unit, ids, lifecycle.TAKEN)
        await lifecycle.move(unit, ids, lifecycle.SENT)
        if to != "sent":
            await lifecycle.move(unit, ids, to, reason="no_service" if to == "failed" else None)
    return ids
