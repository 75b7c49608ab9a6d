"""Where each message goes: the account's routes where it has some, else its phones.

The one entry point the queue and the accept path call. Routes for a channel replace the
phones for that channel (``routing.routes`` says how they match and fail over); a
channel without routes goes to the phones as before (``routing.default``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from ..clock import utcnow
from ..errors import NoRoute
from ..service import Core, Unit
from . import connectors as connectors_mod
from . import default
from . import routes as routes_mod
from .default import Target


@dataclass(frozen=True)
class Want:
    """What routing needs to know of one message."""

    channel: str
    recipient: str
    urgent: bool = False


async def plan(unit: Unit, account_id: int, wants: Sequence[Want]) -> list[Target]:
    """One target per message, in order; ``NoRoute`` if any cannot go anywhere (nothing is taken)."""
    core = unit.core
    found: list[Target | None] = [None] * len(wants)
    to_phones: dict[str, list[int]] = defaultdict(list)
    account_routes = [r for r in await routes_mod.of_account(core, account_id) if r.slot is None]
    usable: dict[int, connectors_mod.Connector] | None = None
    for index, want in enumerate(wants):
        candidates = [r for r in account_routes if r.channel == want.channel]
        if not candidates:
            to_phones[want.channel].append(index)
            continue
        if usable is None:
            usable = await _usable(core, account_id)
        matched = False
        for route in candidates:
            if route.matches(want.channel, want.recipient, want.urgent):
                matched = True
                connector_id = routes_mod.pick(core, route, usable)
                if connector_id is not None:
                    found[index] = Target(None, None, connector_id, fallback=route.fallback())
                    break
        else:
            if matched:
                raise NoRoute(f"No connector can take {want.channel} to {want.recipient} now: every one is down or full")
            raise NoRoute(f"No route of this account takes {want.channel} to {want.recipient}")
    for channel, indexes in to_phones.items():
        for index, target in zip(indexes, await default.plan(unit, account_id, channel, len(indexes))):
            found[index] = target
    return [t for t in found if t is not None]


async def _usable(core: Core, account_id: int) -> dict[int, connectors_mod.Connector]:
    """The account's connectors that may take a message now: up, and not saturated."""
    now = utcnow()
    return {i: c for i, c in (await connectors_mod.live(core, account_id)).items() if c.up(now) and not c.saturated()}


async def slot_routed(core: Core, account_id: int, slot: int) -> bool:
    """Whether a route of the account serves SG24 sim slot ``slot`` (``routes add --slot``)."""
    return any(r.slot == slot for r in await routes_mod.of_account(core, account_id))


async def for_slot(core: Core, account_id: int, slot: int, wants: Sequence[Want]) -> list[Target]:
    """Targets for messages an SG24 request sent to sim slot ``slot`` that a route serves
    (``slot_routed``); ``NoRoute`` when its routes have no connector up now."""
    serving = [r for r in await routes_mod.of_account(core, account_id) if r.slot == slot]
    usable = await _usable(core, account_id)
    found = []
    for want in wants:
        for route in serving:
            connector_id = routes_mod.pick(core, route, usable)
            if connector_id is not None:
                found.append(Target(None, slot, connector_id, fallback=route.fallback()))
                break
        else:
            raise NoRoute(f"No connector of sim slot {slot} can take {want.channel} to {want.recipient} now")
    return found
