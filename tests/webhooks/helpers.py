"""Shared by the webhook tests: a phone to send through, messages moved along, the outbox read back."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from postino.core.accounts import accounts
from postino.core.devices import devices
from postino.core.messages import lifecycle, messages
from postino.core.service import Core
from postino.db.tables import outbox, outbox_attempts

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def documented_verify() -> Any:
    """The ``verify`` function exactly as docs/webhooks.md prints it."""
    text = DOCS.read_text()
    block = re.search(r"```python\n(.*?)```", text, re.S)
    assert block, "docs/webhooks.md has no python snippet"
    namespace: dict[str, Any] = {}
    exec(compile(block.group(1), str(DOCS), "exec"), namespace)  # noqa: S102 - our own docs
    return namespace["verify"]


class Headers(dict):
    """Case-insensitive ``get``, like every web framework's header mapping."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


async def phone(core: Core, account_id: int) -> int:
    async with core.unit() as unit:
        device, _token = await devices.register(
            unit, account_id, name="pixel", sim_cards=[{"slotIndex": 0, "simNumber": 1}]
        )
    return device.id


async def outgoing(core: Core, account_id: int, device_id: int, body: str = "hi") -> int:
    async with core.unit() as unit:
        account = await accounts.get(unit, account_id)
        accepted = await messages.submit(
            unit, account, [messages.Draft(recipient="+393491234567", body=body, device_id=device_id, slot=0)]
        )
    return accepted.ids[0]


async def inbound(core: Core, account_id: int, device_id: int, body: str) -> int:
    async with core.unit() as unit:
        account = await accounts.get(unit, account_id)
        accepted = await messages.submit(
            unit,
            account,
            [messages.Draft(recipient="+393331112222", body=body, device_id=device_id, slot=0, state="received")],
            charge=False,
        )
    return accepted.ids[0]


async def move(core: Core, message_id: int, target: str, **kwargs: Any) -> None:
    async with core.unit() as unit:
        assert await lifecycle.move(unit, [message_id], target, **kwargs)


async def outbox_rows(core: Core) -> list[Any]:
    async with core.reader() as unit:
        return list((await unit.conn.execute(select(outbox).order_by(outbox.c.id))).all())


async def attempts_of(core: Core, outbox_id: int) -> list[Any]:
    async with core.reader() as unit:
        return list(
            (
                await unit.conn.execute(
                    select(outbox_attempts)
                    .where(outbox_attempts.c.outbox_id == outbox_id)
                    .order_by(outbox_attempts.c.attempt)
                )
            ).all()
        )


async def all_settled(core: Core, count: int, state: str = "delivered") -> list[Any] | None:
    rows = await outbox_rows(core)
    if len(rows) == count and all(r.state == state for r in rows):
        return rows
    return None
