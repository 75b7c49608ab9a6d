"""Prometheus metrics: counters moved by core events, gauges read at scrape time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from sqlalchemy import func, select

from .core import lifecycle
from .core.service import Core, Unit
from .db.tables import messages

registry = CollectorRegistry()
transitions = Counter(
    "postino_message_transitions_total", "Messages that entered a state", ["state"], registry=registry
)
accepted = Counter(
    "postino_messages_accepted_total", "Outgoing messages accepted (counted when written)", ["channel"], registry=registry
)
by_state = Gauge("postino_messages", "Messages currently in each state", ["state"], registry=registry)


def count_stored(drafts: Sequence[Any], states: Sequence[str]) -> None:
    """Count new messages by channel, and their first state as a transition."""
    for draft, state in zip(drafts, states):
        transitions.labels(state).inc()
        if state != lifecycle.RECEIVED:
            accepted.labels(draft.channel).inc()


@lifecycle.on_transition
async def _count(unit: Unit, moved: list[lifecycle.Moved]) -> None:
    for m in moved:
        transitions.labels(m.state).inc()


async def render(core: Core) -> tuple[bytes, str]:
    async with core.reader() as unit:
        rows = (
            await unit.conn.execute(
                select(messages.c.state, func.count())
                .where(messages.c.state.in_(sorted(lifecycle.PENDING | {lifecycle.TAKEN})))
                .group_by(messages.c.state)
            )
        ).all()
    counts = {state: 0 for state in sorted(lifecycle.PENDING | {lifecycle.TAKEN})}
    counts.update({r[0]: r[1] for r in rows})
    for state, n in counts.items():
        by_state.labels(state).set(n)
    return generate_latest(registry), CONTENT_TYPE_LATEST
