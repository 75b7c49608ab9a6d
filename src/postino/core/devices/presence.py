"""Device presence: noticing that a phone went silent, once per silence.

A phone is online while it keeps calling (every authenticated call marks it seen, see
``devices.touch``). A scheduler job calls ``notice_offline``: devices silent for longer
than ``offline_after_seconds`` and not yet announced get ``offline_notified`` set, and the
registered listeners run in the same transaction (the webhooks part turns them into
``device.offline`` deliveries). ``touch`` clears the flag when the phone comes back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ...db.tables import devices as devices_table
from ..clock import utcnow
from ..service import Unit
from . import devices

OfflineListener = Callable[[Unit, list[devices.Device]], Awaitable[None]]
"""``fn(unit, devices)`` (``Core.listeners.offline``): runs when devices are first noticed offline."""


async def notice_offline(unit: Unit, now: datetime | None = None) -> None:
    """Mark newly silent devices ``offline_notified`` and tell the listeners about them."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=unit.settings.offline_after_seconds)
    stmt = (
        select(devices_table.c.id)
        .where(
            devices_table.c.deleted_at.is_(None),
            devices_table.c.offline_notified.is_(False),
            devices_table.c.last_seen.is_not(None),
            devices_table.c.last_seen < cutoff,
        )
        .limit(1000)
    )
    if unit.is_postgres:
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list((await unit.conn.execute(stmt)).scalars())
    if not ids:
        return None
    rows = (
        await unit.conn.execute(
            update(devices_table)
            .where(devices_table.c.id.in_(ids), devices_table.c.offline_notified.is_(False))
            .values(offline_notified=True)
            .returning(*devices_table.c)
        )
    ).all()
    went = [devices._row(unit, r) for r in rows]
    if went:
        for fn in list(unit.core.listeners.offline):
            await fn(unit, went)
    return None


def settings_changed(unit: Unit, device_id: int) -> None:
    """Tell the phone (``SettingsUpdated`` on its event stream) once the change is committed."""
    notifier = unit.core.notifier
    unit.after_commit(lambda: notifier.publish(("device", device_id), "SettingsUpdated"))
