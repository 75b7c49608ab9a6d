"""Where a message goes when the API user named no phone.

Default route: the account's devices that have a slot for the channel, online ones
first, the least-queued first (by queue lengths at most a second old, plus what this
process has routed since). A device that is offline still takes messages when no
online one can (they wait for it); no device with that channel at all is ``NoRoute``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..clock import utcnow
from ..devices import devices as devices_mod
from ..errors import NoRoute
from ..service import Unit


@dataclass(frozen=True)
class Target:
    """Where one message goes: a phone's slot, or a connector (``routing.routes``)."""

    device_id: int | None
    slot: int | None
    connector_id: int | None = None
    fallback: tuple[str, int | None] | None = None
    """(channel, seconds) of the route that took it when that route names a fallback channel."""


async def plan(
    unit: Unit, account_id: int, channel: str, count: int, *, active_within: timedelta | None = None
) -> list[Target]:
    """``count`` targets for messages of ``channel``, spread least-queued first.

    ``active_within``: only phones seen that recently (``NoRoute`` when none was).
    """
    candidates: list[tuple[devices_mod.Device, int]] = []
    found = await devices_mod.list_for(unit, account_id)
    if active_within is not None:
        since = utcnow() - active_within
        found = [d for d in found if d.last_seen is not None and d.last_seen >= since]
    for device in found:
        slots = [s for s, ch in sorted(device.slots().items()) if ch == channel]
        if slots:
            candidates.append((device, slots[0]))
    if not candidates:
        raise NoRoute(f"No device or connector can send {channel} for this account")
    offline_after = unit.settings.offline_after_seconds
    online = [c for c in candidates if c[0].online(offline_after)]
    pool = online or candidates
    # Counting a queue reads each of its messages' index entries (12-14 ms behind 100,000,
    # bench/routing.py): one phone takes them all uncounted, and several phones' counts are
    # read at most once a second, with what is routed meanwhile added to them here.
    if len(pool) == 1:
        device, slot = pool[0]
        return [Target(device.id, slot)] * count
    key = tuple(d.id for d, _ in pool)
    load = unit.core.cache.queue_lengths.get(key)
    if load is None:
        load = await devices_mod.queued_counts(unit, list(key))
        unit.core.cache.queue_lengths.put(key, load)
    targets: list[Target] = []
    for _ in range(count):
        device, slot = min(pool, key=lambda c: (load[c[0].id], c[0].id))
        load[device.id] += 1
        targets.append(Target(device.id, slot))
    return targets
