"""Fixtures of the SmsGateway24 tests: a phone for alice and bob, seed-shape comparison."""

from __future__ import annotations

from typing import Any

import pytest_asyncio
from sqlalchemy import func, select

from postino.core.devices import devices
from postino.core.service import Core
from postino.db.tables import messages

SLOTS = [
    {"slotIndex": 0, "simNumber": 1, "phoneNumber": "+393331112222", "carrierName": "TIM", "iccid": "8939010000000000001"},
    {"slotIndex": 1, "simNumber": 2},
    {"slotIndex": 2, "simNumber": 3, "channels": ["whatsapp"]},
]


async def register_phone(core: Core, account_id: int, name: str = "Pixel 7", sim_cards: list | None = None) -> int:
    async with core.unit() as unit:
        device, _token = await devices.register(
            unit, account_id, name=name, sim_cards=sim_cards if sim_cards is not None else SLOTS, app_version="1.40.0"
        )
    return device.id


@pytest_asyncio.fixture
async def phone(core: Core, alice) -> int:  # noqa: ANN001
    """Alice's device id (slots 0, 1 SMS and 2 WhatsApp)."""
    return await register_phone(core, alice.id)


@pytest_asyncio.fixture
async def bob_phone(core: Core, bob) -> int:  # noqa: ANN001
    return await register_phone(core, bob.id, name="Bob's phone")


async def stored_messages(core: Core) -> int:
    async with core.reader() as unit:
        return int(await unit.conn.scalar(select(func.count()).select_from(messages)))


def _same_type(actual: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(actual, bool) and isinstance(expected, bool)
    if isinstance(expected, int):
        return isinstance(actual, int)
    return isinstance(actual, type(expected))


def assert_seed_shape(actual: Any, seed: Any, path: str = "$", nullable: tuple[str, ...] = ()) -> None:
    """Every field of the seed's example is there, with the same JSON type.

    Objects keyed by ids (``smss``, ``device``) are compared entry by entry with the
    seed's first entry. A seed ``null`` accepts null or anything; a key listed in ``nullable`` may be null in
    the answer where the seed shows a value.
    """
    if isinstance(seed, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        if seed and all(key.isdigit() for key in seed):  # an object keyed by ids: every entry like the seed's
            template = next(iter(seed.values()))
            for key, value in actual.items():
                assert key.isdigit(), f"{path}: key {key!r} is not an id"
                assert_seed_shape(value, template, f"{path}.{key}", nullable)
            return
        for key, value in seed.items():
            assert key in actual, f"{path}: missing field {key!r} in {sorted(actual)}"
            if value is None or (actual[key] is None and key in nullable):
                continue
            assert_seed_shape(actual[key], value, f"{path}.{key}", nullable)
        return
    if isinstance(seed, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r}"
        if seed and actual:
            for item in actual:
                assert_seed_shape(item, seed[0], f"{path}[]", nullable)
        return
    assert _same_type(actual, seed), f"{path}: expected {type(seed).__name__} like {seed!r}, got {actual!r}"
