"""Connector records: what an account sends through besides its phones.

A record holds a kind (``smpp``, ``whatsapp_cloud``, ``simulator``), its settings and its
secrets (a password, a token) sealed with the server key: they must be used again to
bind, so they are encrypted, not hashed, and never returned or logged. What a kind's
settings mean is the business of ``postino.connectors``; core keeps them and serves the
live state routing needs: whether the connector is up (the node serving it renews
``up_until`` while bound) and how much waits for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from ...db.tables import connectors, messages, routes
from ..accounts import sealed
from ..clock import utcnow
from ..errors import Conflict, InvalidInput, NotFound
from ..service import Core, Unit

STATES = ("down", "binding", "bound")
NAME_MAX = 64
UP_FOR = timedelta(seconds=15)
"""How long a report of "bound" counts; the serving node renews it every few seconds."""


@dataclass(frozen=True)
class Connector:
    id: int
    account_id: int
    name: str
    kind: str
    config: dict[str, Any]
    state: str
    state_detail: str
    up_until: datetime | None
    queue_depth: int
    created_at: datetime
    sealed_secrets: str = field(repr=False, default="")

    def up(self, now: datetime | None = None) -> bool:
        return self.state == "bound" and self.up_until is not None and self.up_until > (now or utcnow())

    def saturated(self) -> bool:
        """More waits for it than its ``max_queue`` (a stalled carrier): routing skips it."""
        limit = self.config.get("max_queue")
        return isinstance(limit, int) and limit > 0 and self.queue_depth >= limit

    def kind_key(self) -> tuple[Any, ...]:
        """What makes two connectors the same account at one carrier (their ids share a space)."""
        c = self.config
        return (self.kind, c.get("host"), c.get("port"), c.get("system_id"), c.get("phone_number_id"))

    def secrets(self, sealer: sealed.Sealer) -> dict[str, str]:
        """The clear secrets, for the code that binds; never for an answer or a log."""
        if not self.sealed_secrets:
            return {}
        return json.loads(sealer.open(self.sealed_secrets))

    def public(self) -> dict[str, Any]:
        """What an API answer or ``--json`` shows: settings and state, never a secret."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            **self.config,
            "state": self.state,
            "state_detail": self.state_detail,
            "up": self.up(),
            "queue_depth": self.queue_depth,
            "created_at": self.created_at.isoformat(),
        }


def _connector(row: Any) -> Connector:
    return Connector(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        kind=row.kind,
        config=dict(row.config or {}),
        state=row.state,
        state_detail=row.state_detail,
        up_until=row.up_until,
        queue_depth=row.queue_depth,
        created_at=row.created_at,
        sealed_secrets=row.secrets or "",
    )


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX or not all(ch.isalnum() or ch in "-_." for ch in name):
        raise InvalidInput(f"A connector name is 1–{NAME_MAX} letters, digits, '-', '_' or '.'", field="name")
    return name


async def add(
    unit: Unit, account_id: int, *, name: str, kind: str, config: dict[str, Any], secrets: dict[str, str]
) -> Connector:
    """A new connector of the account; ``Conflict`` when the name is taken."""
    name = check_name(name)
    if await unit.conn.scalar(
        select(connectors.c.id).where(connectors.c.account_id == account_id, connectors.c.name == name)
    ):
        raise Conflict(f"A connector named {name!r} exists", field="name")
    now = utcnow()
    stored = sealed.for_settings(unit.settings).seal(json.dumps(secrets)) if secrets else ""
    new_id = (
        await unit.conn.execute(
            insert(connectors)
            .values(
                account_id=account_id, name=name, kind=kind, config=config, secrets=stored, state="down",
                state_detail="", up_until=None, queue_depth=0, created_at=now, updated_at=now,
            )  # fmt: skip
            .returning(connectors.c.id)
        )
    ).scalar_one()
    unit.after_commit(lambda: unit.core.cache.connectors.drop(account_id))
    return await get(unit, account_id, int(new_id))


async def change(
    unit: Unit, account_id: int, connector_id: int, *, config: dict[str, Any], secrets: dict[str, str] | None = None
) -> Connector:
    """New settings (and secrets, when given): the node serving it binds again with them."""
    await get(unit, account_id, connector_id)
    values: dict[str, Any] = {"config": config, "updated_at": utcnow()}
    if secrets is not None:
        values["secrets"] = sealed.for_settings(unit.settings).seal(json.dumps(secrets)) if secrets else ""
    await unit.conn.execute(update(connectors).where(connectors.c.id == connector_id).values(**values))
    unit.after_commit(lambda: unit.core.cache.connectors.drop(account_id))
    return await get(unit, account_id, connector_id)


async def list_for(unit: Unit, account_id: int) -> list[Connector]:
    rows = await unit.conn.execute(
        select(connectors).where(connectors.c.account_id == account_id).order_by(connectors.c.id)
    )
    return [_connector(r) for r in rows]


async def get(unit: Unit, account_id: int, connector_id: int) -> Connector:
    row = (
        await unit.conn.execute(
            select(connectors).where(connectors.c.id == connector_id, connectors.c.account_id == account_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("Connector not found")
    return _connector(row)


async def by_name(unit: Unit, account_id: int, name: str) -> Connector:
    row = (
        await unit.conn.execute(
            select(connectors).where(connectors.c.account_id == account_id, connectors.c.name == name)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"No connector named {name!r}")
    return _connector(row)


async def find(unit: Unit, connector_id: int, kind: str) -> Connector:
    """A connector by id alone, for what reaches it from outside (a webhook URL names only the id)."""
    row = (
        await unit.conn.execute(select(connectors).where(connectors.c.id == connector_id, connectors.c.kind == kind))
    ).one_or_none()
    if row is None:
        raise NotFound("Connector not found")
    return _connector(row)


async def every(unit: Unit) -> list[Connector]:
    """Every connector of every account: what a worker process serves."""
    return [_connector(r) for r in await unit.conn.execute(select(connectors).order_by(connectors.c.id))]


async def remove(unit: Unit, account_id: int, connector_id: int) -> None:
    """Remove a connector; refused while a route names it or messages wait for it."""
    await get(unit, account_id, connector_id)
    for row in await unit.conn.execute(select(routes.c.id, routes.c.targets).where(routes.c.account_id == account_id)):
        if any(t.get("connector_id") == connector_id for t in row.targets or []):
            raise Conflict(f"Route {row.id} sends through this connector: remove the route first")
    waiting = await unit.conn.scalar(
        select(func.count()).select_from(messages).where(messages.c.connector_id == connector_id,
                                                         messages.c.state.in_(("scheduled", "queued", "assigned")))
    )  # fmt: skip
    if waiting:
        raise Conflict(f"{waiting} messages wait for this connector: cancel them or let them go first")
    await unit.conn.execute(delete(connectors).where(connectors.c.id == connector_id))
    unit.after_commit(lambda: unit.core.cache.connectors.drop(account_id))


async def report(
    unit: Unit, connector_id: int, *, state: str, detail: str = "", queue_depth: int | None = None
) -> None:
    """What the serving node sees: ``bound`` renews ``up_until``; anything else ends it."""
    now = utcnow()
    values: dict[str, Any] = {
        "state": state,
        "state_detail": detail[:200],
        "updated_at": now,
        "up_until": now + UP_FOR if state == "bound" else None,
    }
    if queue_depth is not None:
        values["queue_depth"] = queue_depth
    await unit.conn.execute(update(connectors).where(connectors.c.id == connector_id).values(**values))


async def live(core: Core, account_id: int) -> dict[int, Connector]:
    """The account's connectors by id, as routing sees them (cached a second)."""

    async def read(unit: Unit) -> dict[int, Connector]:
        return {c.id: c for c in await list_for(unit, account_id)}

    return await core.read_cached(core.cache.connectors, account_id, read) or {}
