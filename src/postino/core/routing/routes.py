"""An account's routes: ordered rules that send messages through connectors.

A route matches a channel, optionally destination prefixes (``+39``, ``62``: digits of
the E.164 number) and the OTP flag (``urgent`` messages: NusaSMS ``otp=Y``, SG24
``urgent``), and names connectors with weights, the share of traffic each takes. The
first route that matches and has a connector up and not saturated takes the message;
a connector that is down is skipped (failover to the next connector, then the next
route). An account with no route for a channel sends it through its phones, as it did
before routes existed; one whose routes for the channel all fail to take a message
gets ``NoRoute``, and the message is refused at once rather than left queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select

from ...db.tables import routes
from ..clock import utcnow
from ..errors import InvalidInput, NotFound
from ..service import Core, Unit
from . import connectors as connectors_mod

CHANNELS = ("sms", "whatsapp", "rcs")
MAX_WEIGHT = 1000
MAX_FALLBACK_AFTER = 7 * 86400


@dataclass(frozen=True)
class Target:
    connector_id: int
    weight: int


@dataclass(frozen=True)
class Route:
    id: int
    account_id: int
    position: int
    channel: str
    prefixes: tuple[str, ...]
    otp: bool
    slot: int | None
    targets: tuple[Target, ...]
    fallback_channel: str | None
    fallback_after: int | None
    created_at: datetime

    def matches(self, channel: str, recipient: str, urgent: bool) -> bool:
        if channel != self.channel or (self.otp and not urgent):
            return False
        if not self.prefixes:
            return True
        digits = recipient.lstrip("+")
        return any(digits.startswith(p) for p in self.prefixes)

    def fallback(self) -> tuple[str, int | None] | None:
        """(channel, seconds) a message it takes falls back to; None when it names no fallback."""
        return (self.fallback_channel, self.fallback_after) if self.fallback_channel else None

    def public(self, names: dict[int, str] | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "position": self.position,
            "channel": self.channel,
            "prefixes": ["+" + p for p in self.prefixes],
            "otp": self.otp,
            "slot": self.slot,
            "connectors": [
                {"id": t.connector_id, "name": (names or {}).get(t.connector_id), "weight": t.weight}
                for t in self.targets
            ],
            "fallback": (
                {"channel": self.fallback_channel, "after_seconds": self.fallback_after}
                if self.fallback_channel
                else None
            ),
        }


def _route(row: Any) -> Route:
    return Route(
        id=row.id,
        account_id=row.account_id,
        position=row.position,
        channel=row.channel,
        prefixes=tuple(row.prefixes or ()),
        otp=bool(row.otp),
        slot=row.slot,
        targets=tuple(Target(int(t["connector_id"]), int(t["weight"])) for t in row.targets or ()),
        fallback_channel=row.fallback_channel,
        fallback_after=row.fallback_after,
        created_at=row.created_at,
    )


def parse_prefixes(values: list[str]) -> list[str]:
    """``+39``, ``0039`` or ``39`` → ``39``: digits of the international number."""
    found = []
    for value in values:
        text = str(value).strip().replace(" ", "")
        if text.startswith("00"):
            text = text[2:]
        text = text.lstrip("+")
        if not text.isdigit() or len(text) > 15:
            raise InvalidInput(f"Prefix {value!r} is not the start of an international number", field="prefix")
        found.append(text)
    return found


async def add(
    unit: Unit,
    account_id: int,
    *,
    channel: str,
    targets: list[tuple[int, int]],
    prefixes: list[str] | None = None,
    otp: bool = False,
    slot: int | None = None,
    position: int | None = None,
    fallback_channel: str | None = None,
    fallback_after: int | None = None,
) -> Route:
    """A new route; ``position`` puts it there (1 = first), the others move down; default last."""
    if channel not in CHANNELS:
        raise InvalidInput(f"channel is one of {', '.join(CHANNELS)}", field="channel")
    if not targets:
        raise InvalidInput("A route names at least one connector", field="connectors")
    known = await connectors_mod.list_for(unit, account_id)
    by_id = {c.id: c for c in known}
    seen = set()
    for connector_id, weight in targets:
        if connector_id not in by_id:
            raise NotFound("Connector not found")
        if connector_id in seen:
            raise InvalidInput("A connector is named twice in one route", field="connectors")
        seen.add(connector_id)
        if not 1 <= weight <= MAX_WEIGHT:
            raise InvalidInput(f"A weight is between 1 and {MAX_WEIGHT}", field="connectors")
    if slot is not None and not 1 <= slot <= 5:
        raise InvalidInput("slot is between 1 and 5", field="slot")
    if fallback_channel is not None:
        if fallback_channel not in CHANNELS or fallback_channel == channel:
            raise InvalidInput("The fallback is another channel", field="fallback")
        if fallback_after is not None and not 1 <= fallback_after <= MAX_FALLBACK_AFTER:
            raise InvalidInput(f"fallback-after is 1 to {MAX_FALLBACK_AFTER} seconds", field="fallback_after")
    existing = await list_for(unit, account_id)
    last = len(existing) + 1
    position = last if position is None else position
    if not 1 <= position <= last:
        raise InvalidInput(f"position is between 1 and {last}", field="position")
    for route in existing:  # make room, keeping positions 1..n
        if route.position >= position:
            await unit.conn.execute(
                routes.update().where(routes.c.id == route.id).values(position=route.position + 1)
            )
    new_id = (
        await unit.conn.execute(
            insert(routes)
            .values(
                account_id=account_id,
                position=position,
                channel=channel,
                prefixes=parse_prefixes(prefixes or []),
                otp=otp,
                slot=slot,
                targets=[{"connector_id": c, "weight": w} for c, w in targets],
                fallback_channel=fallback_channel,
                fallback_after=fallback_after,
                created_at=utcnow(),
            )
            .returning(routes.c.id)
        )
    ).scalar_one()
    unit.after_commit(lambda: unit.core.cache.routes.drop(account_id))
    return await get(unit, account_id, int(new_id))


async def list_for(unit: Unit, account_id: int) -> list[Route]:
    rows = await unit.conn.execute(
        select(routes).where(routes.c.account_id == account_id).order_by(routes.c.position, routes.c.id)
    )
    return [_route(r) for r in rows]


async def get(unit: Unit, account_id: int, route_id: int) -> Route:
    row = (
        await unit.conn.execute(select(routes).where(routes.c.id == route_id, routes.c.account_id == account_id))
    ).one_or_none()
    if row is None:
        raise NotFound("Route not found")
    return _route(row)


async def remove(unit: Unit, account_id: int, route_id: int) -> None:
    route = await get(unit, account_id, route_id)
    await unit.conn.execute(delete(routes).where(routes.c.id == route_id))
    await unit.conn.execute(
        routes.update()
        .where(routes.c.account_id == account_id, routes.c.position > route.position)
        .values(position=routes.c.position - 1)
    )
    unit.after_commit(lambda: unit.core.cache.routes.drop(account_id))


async def count_for(unit: Unit, account_id: int) -> int:
    return int(await unit.conn.scalar(select(func.count()).select_from(routes).where(routes.c.account_id == account_id)))


async def of_account(core: Core, account_id: int) -> list[Route]:
    """The account's routes in order, as routing reads them (cached like account settings)."""

    async def read(unit: Unit) -> list[Route]:
        return await list_for(unit, account_id)

    return await core.read_cached(core.cache.routes, account_id, read) or []


def pick(core: Core, route: Route, usable: dict[int, connectors_mod.Connector]) -> int | None:
    """The connector of ``route`` that takes the next message, by smooth weighted round robin.

    Each usable connector's score grows by its weight; the highest is picked and pays the
    total back. Over any run of messages the split matches the weights to within one
    message (3:1 over 4,000 is 3,000:1,000), where a random draw would wander by dozens.
    Connectors that are down or saturated are not in ``usable`` and take nothing.
    """
    candidates = [t for t in route.targets if t.connector_id in usable]
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0].connector_id
    scores = core.cache.route_turns.setdefault(route.id, {})
    total = 0
    best: Target | None = None
    for target in candidates:
        scores[target.connector_id] = scores.get(target.connector_id, 0) + target.weight
        total += target.weight
        if best is None or scores[target.connector_id] > scores[best.connector_id]:
            best = target
    assert best is not None
    scores[best.connector_id] -= total
    return best.connector_id
