"""Shared steps of the contacts tests: lists filled in bulk, a phone, a campaign driven to its end."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from postino.core.clock import utcnow
from postino.core.contacts import campaigns, lists
from postino.core.devices import devices
from postino.core.service import Core
from postino.db.tables import messages

PHONE_SLOTS = [{"slotIndex": 0, "simNumber": 1}, {"slotIndex": 1, "simNumber": 2}]


def number(i: int) -> str:
    """The i-th test number: Italian mobiles, valid for libphonenumber."""
    return f"+39349{i:07d}"


async def phone(core: Core, account_id: int, name: str = "Pixel") -> int:
    async with core.unit() as unit:
        device, _token = await devices.register(unit, account_id, name=name, sim_cards=PHONE_SLOTS)
    return device.id


async def new_list(core: Core, account_id: int, title: str) -> int:
    async with core.unit() as unit:
        return (await lists.create_tag(unit, account_id, title)).id


async def bulk_contacts(
    core: Core, account_id: int, tag_id: int, phones: Iterable[str], *, fields: dict | None = None
) -> None:
    """Insert contacts straight through the driver (a test's setup, not what it tests): seconds for 100,000."""
    now = utcnow().replace(tzinfo=None)
    rows = [(account_id, tag_id, p, f"Name {p[-4:]}", json.dumps(fields or {}), now, now) for p in phones]
    await _bulk(core, "contacts", ("account_id", "tag_id", "phone", "fullname", "fields", "created_at", "updated_at"), rows)


async def bulk_optouts(core: Core, account_id: int, phones: Iterable[str]) -> None:
    now = utcnow().replace(tzinfo=None)
    rows = [(account_id, p, now, "sms", "operator", "") for p in phones]
    await _bulk(core, "optouts", ("account_id", "phone", "at", "channel", "source", "actor"), rows)


async def _bulk(core: Core, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    async with core.unit() as unit:
        if unit.is_postgres:
            raw = await unit.conn.get_raw_connection()
            await raw.driver_connection.copy_records_to_table(table, records=rows, columns=list(columns))
            return

        def insert(conn: Any) -> None:
            cursor = conn.connection.dbapi_connection.cursor()
            marks = ",".join("?" * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})",
                               [tuple(v.isoformat(" ") if isinstance(v, datetime) else v for v in r) for r in rows])

        await unit.conn.run_sync(insert)


async def drive(core: Core, *, now: datetime | None = None, max_steps: int = 10_000) -> int:
    """Run the campaigns worker's step until nothing moves; how many steps moved something."""
    moved_steps = 0
    for _ in range(max_steps):
        async with core.unit() as unit:
            moved, _woken = await campaigns.advance(unit, now=now)
        if not moved:
            return moved_steps
        moved_steps += 1
    raise AssertionError("the campaign never stopped moving")


async def states(core: Core, batch_id: int) -> dict[str, int]:
    async with core.reader() as unit:
        rows = await unit.conn.execute(
            select(messages.c.state, func.count()).where(messages.c.batch_id == batch_id).group_by(messages.c.state)
        )
        return dict(rows.all())
