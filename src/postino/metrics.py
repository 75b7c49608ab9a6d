"""Prometheus metrics: counters moved by core events, gauges read at scrape time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from sqlalchemy import func, select

from .core.messages import lifecycle
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
    """Count new messages by channel, and their first state as a transition (one ``inc`` per label)."""
    by_state: dict[str, int] = {}
    by_channel: dict[str, int] = {}
    for draft, state in zip(drafts, states):
        by_state[state] = by_state.get(state, 0) + 1
        if state != lifecycle.RECEIVED:
            by_channel[draft.channel] = by_channel.get(draft.channel, 0) + 1
    for state, n in by_state.items():
        transitions.labels(state).inc(n)
    for channel, n in by_channel.items():
        accepted.labels(channel).inc(n)


async def count_moves(unit: Unit, moved: list[lifecycle.Moved]) -> None:
    """Transition listener: one count per message that entered a state."""
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
