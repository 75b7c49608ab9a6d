"""Prometheus metrics: counters moved by core events, gauges read at scrape time."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Sequence
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import func, select

from .core.messages import lifecycle
from .core.service import Core, Unit
from .db.tables import messages
from .db.timings import Histogram, WriterTimings
from .dispatch import connectors as connector_workers

registry = CollectorRegistry()
transitions = Counter(
    "postino_message_transitions_total", "Messages that entered a state", ["state"], registry=registry
)
accepted = Counter(
    "postino_messages_accepted_total", "Outgoing messages accepted (counted when written)", ["channel"], registry=registry
)
by_state = Gauge("postino_messages", "Messages currently in each state", ["state"], registry=registry)

BIND_STATES = ("down", "binding", "bound")


class ConnectorCollector:
    """The connectors this process serves, read at scrape time from their runners."""

    def collect(self):  # noqa: ANN201 - the prometheus_client collector protocol
        labels = ["connector", "account"]
        bind = GaugeMetricFamily("postino_connector_bound", "1 for the connector's bind state", labels=[*labels, "state"])
        window = GaugeMetricFamily("postino_connector_window_in_use", "Submits awaiting an answer", labels=labels)
        depth = GaugeMetricFamily("postino_connector_queue_depth", "Messages queued for the connector", labels=labels)
        submitted = CounterMetricFamily("postino_connector_submitted", "Parts the carrier answered", labels=labels)
        errors = CounterMetricFamily("postino_connector_errors", "Refusals by carrier status", labels=[*labels, "code"])
        receipts = CounterMetricFamily("postino_connector_receipts", "Receipts by match", labels=[*labels, "matched"])
        inbound = CounterMetricFamily("postino_connector_inbound", "Inbound messages (parts)", labels=labels)
        for runner in connector_workers.served():
            stats = runner.stats()
            name = [runner.record.name, str(runner.record.account_id)]
            for state in BIND_STATES:
                bind.add_metric([*name, state], 1.0 if stats.get("bind_state") == state else 0.0)
            window.add_metric(name, float(stats.get("window_in_use") or 0))
            depth.add_metric(name, float(stats.get("queue_depth") or 0))
            submitted.add_metric(name, float(stats.get("submitted") or 0))
            for code, n in sorted((stats.get("errors") or {}).items()):
                errors.add_metric([*name, str(code)], float(n))
            receipts.add_metric([*name, "yes"], float(stats.get("receipts_matched") or 0))
            receipts.add_metric([*name, "no"], float(stats.get("receipts_unmatched") or 0))
            inbound.add_metric(name, float(stats.get("inbound") or 0))
        yield from (bind, window, depth, submitted, errors, receipts, inbound)


registry.register(ConnectorCollector())  # type: ignore[arg-type]


class Collections:
    """The interpreter's garbage collections by generation and duration (a pause of every thread)."""

    def __init__(self) -> None:
        self.by_generation = [Histogram(), Histogram(), Histogram()]
        self._started: dict[int, float] = {}

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started[threading.get_ident()] = time.perf_counter()
            return
        started = self._started.pop(threading.get_ident(), None)
        if started is not None:
            self.by_generation[info["generation"]].add(time.perf_counter() - started)


collections = Collections()


def watch_collections() -> None:
    """Time every collection from now on (``serve`` calls it once; calling again changes nothing)."""
    if collections not in gc.callbacks:
        gc.callbacks.append(collections)


def _histogram(name: str, doc: str, histogram: Histogram) -> HistogramMetricFamily:
    return HistogramMetricFamily(name, doc, buckets=histogram.cumulative(), sum_value=histogram.total)


class Timings:
    """Where the time of this process's writes and pauses went, read at scrape time."""

    def __init__(self, writer: WriterTimings | None) -> None:
        self.writer = writer or WriterTimings()

    def collect(self):  # noqa: ANN201 - the prometheus_client collector protocol
        w = self.writer
        yield _histogram("postino_writer_group_seconds", "Commit groups, from taking their writes to their COMMIT",
                         w.group)
        yield CounterMetricFamily("postino_writer_group_cpu_seconds", "CPU of the writer's thread in its groups (SQLite)",
                                  value=w.group_cpu)
        yield CounterMetricFamily("postino_writer_works", "Writes run in commit groups", value=w.works)
        yield _histogram("postino_wal_restart_hold_seconds", "How long each WAL restart held the writers", w.restart_hold)
        yield CounterMetricFamily("postino_wal_restarts_deferred", "WAL restarts given up for readers",
                                  value=w.restarts_deferred)
        yield _histogram("postino_wal_cap_wait_seconds", "Writes held for a WAL restart: the WAL had passed its cap",
                         w.cap_waits)
        pauses = HistogramMetricFamily("postino_gc_pause_seconds", "Garbage collections (every thread waits)",
                                       labels=["generation"])
        for generation, histogram in enumerate(collections.by_generation):
            pauses.add_metric([str(generation)], histogram.cumulative(), histogram.total)
        yield pauses


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
    timings = Timings(core.db.writer_timings())
    return generate_latest(registry) + generate_latest(timings), CONTENT_TYPE_LATEST  # type: ignore[arg-type]
