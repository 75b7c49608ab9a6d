"""The worker loop that drives connectors: claim from the queue, send, write back.

One ``Runner`` per connector record this process serves. It claims queued messages of
its connector (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several nodes may serve one
connector; the group writer on SQLite), runs ``window`` sends at once, and writes what
came back in batches: the ids and ``sent`` of the answered, the queue again for those
the link dropped before an answer, ``failed`` for those refused. Receipts and inbound
messages are written before the connector answers its carrier. Every few seconds the
runner reports its link and queue depth on the record (routing reads them) and renews
the leases of what it is still sending.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..connectors import base
from ..connectors.kinds import KINDS
from ..core.accounts import sealed
from ..core.messages import carriers, queue
from ..core.routing import connectors as records
from ..core.service import Core, Unit

log = logging.getLogger("postino.connectors")

RESCAN_SECONDS = 5.0
HEARTBEAT_SECONDS = 5.0
IDLE_POLL_SECONDS = 1.0
EARLY_RECEIPTS_SECONDS = 60.0
"""After a receipt came before its id was stored, look for such receipts on every write this long."""
CLAIM_AT_ONCE = 200
"""Messages a runner holds at most (besides ``window * 4``); the connector's window bounds what is in flight at the carrier."""

SERVED: dict[int, "Runner"] = {}
"""The runners of this process by connector id (``/metrics`` reads their counters)."""


async def run(core: Core, stop: asyncio.Event) -> None:
    """Serve every connector record of a kind Postino knows, following adds and removals."""
    tasks: dict[int, tuple[Runner, asyncio.Task[None]]] = {}
    broken: dict[int, dict[str, tuple[int, ...]]] = {}  # records that failed to start, until their secrets change
    try:
        while not stop.is_set():
            try:
                async with core.reader() as unit:
                    found = {r.id: r for r in await records.every(unit) if r.kind in KINDS}
            except Exception:  # noqa: BLE001 - the database may be restarting: try again later
                log.exception("cannot read the connectors")
                found = {rid: runner.record for rid, (runner, _) in tasks.items()}
            for rid in [rid for rid in tasks if rid not in found or tasks[rid][0].changed(found[rid])]:
                runner, task = tasks.pop(rid)
                await runner.stop_and_wait(task)
            for runner, _ in tasks.values():
                runner.scope = _siblings(runner.record, found.values())
            for rid, record in found.items():
                if rid in tasks or rid in broken.get(rid, {}).get(record.sealed_secrets, ()):
                    continue
                try:
                    runner = Runner(core, record)
                except Exception as exc:  # noqa: BLE001 - one bad record must not stop the others
                    log.error("connector %s cannot start: %s", record.name, exc)
                    broken[rid] = {record.sealed_secrets: (rid,)}
                    await _report_broken(core, record, f"cannot start: {exc}")
                    continue
                broken.pop(rid, None)
                runner.scope = _siblings(record, found.values())
                tasks[rid] = (runner, asyncio.create_task(runner.run(), name=f"connector {record.name}"))
            try:
                await asyncio.wait_for(stop.wait(), timeout=RESCAN_SECONDS)
            except asyncio.TimeoutError:
                pass
    finally:
        await asyncio.gather(*(runner.stop_and_wait(task) for runner, task in tasks.values()), return_exceptions=True)


def _siblings(record: records.Connector, every: Any) -> tuple[int, ...]:
    """Connectors of the account bound to the same SMSC account: receipts may come on any of their binds."""
    same = record.kind_key()
    return tuple(sorted(r.id for r in every if r.account_id == record.account_id and r.kind_key() == same))


async def _report_broken(core: Core, record: records.Connector, detail: str) -> None:
    async def write(unit: Unit) -> None:
        await records.report(unit, record.id, state="down", detail=detail)

    try:
        await core.write_now(write)
    except Exception:  # noqa: BLE001 - the log line above already says it
        pass


class _Batch:
    """Writes queued up while the previous write ran go together in the next one."""

    def __init__(self, core: Core, write: Callable[[Unit, list[Any]], Awaitable[list[Any] | None]]) -> None:
        self.core = core
        self.write = write
        self.items: list[tuple[Any, asyncio.Future[Any]]] = []
        self.task: asyncio.Task[None] | None = None

    def add(self, item: Any) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.items.append((item, future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._drain())
        return future

    async def _drain(self) -> None:
        while self.items:
            taken, self.items = self.items, []
            values = [item for item, _ in taken]
            try:
                results = await self.core.write_now(lambda unit, items=values: self.write(unit, items))
            except Exception as exc:  # noqa: BLE001 - each waiter hears of it
                for _, future in taken:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for index, (_, future) in enumerate(taken):
                if not future.done():
                    future.set_result(results[index] if results else None)


class Runner:
    """One connector served by this process."""

    def __init__(self, core: Core, record: records.Connector) -> None:
        self.core = core
        self.record = record
        self.kind = KINDS[record.kind]
        secrets = record.secrets(sealed.for_settings(core.settings))
        self.connector: base.Connector = self.kind.build(record, secrets, self, core.settings)
        self.stop = asyncio.Event()
        self.bound = asyncio.Event()
        self.link_changed = asyncio.Event()
        self.link_state = ("down", "")
        self.inflight: set[int] = set()
        self.room = asyncio.Event()
        self.counts: dict[str, int] = {"sent": 0, "given_back": 0, "refused": 0, "receipts_matched": 0,
                                       "receipts_unmatched": 0, "inbound": 0}  # fmt: skip
        self.queue_depth = 0
        self.scope: tuple[int, ...] = (record.id,)
        self.unmatched_at = -EARLY_RECEIPTS_SECONDS  # when a receipt last came before its id was stored
        self._results = _Batch(core, self._write_results)
        self._receipts = _Batch(core, self._write_receipts)

    def changed(self, record: records.Connector) -> bool:
        return (record.config, record.sealed_secrets) != (self.record.config, self.record.sealed_secrets)

    async def stop_and_wait(self, task: asyncio.Task[None]) -> None:
        self.stop.set()
        try:
            await asyncio.wait_for(task, timeout=10)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            task.cancel()
        except Exception:  # noqa: BLE001 - it has been logged
            pass

    async def run(self) -> None:
        SERVED[self.record.id] = self
        tasks = [
            asyncio.create_task(self.connector.run(self.stop), name="link"),
            asyncio.create_task(self._pump(), name="pump"),
            asyncio.create_task(self._heartbeat(), name="heartbeat"),
        ]
        try:
            await self.stop.wait()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            for task in tasks:
                task.cancel()
            if SERVED.get(self.record.id) is self:
                del SERVED[self.record.id]
            await self._report_now()

    # -- Reports: what the connector tells us ----------------------------------------------

    def link(self, state: str, detail: str = "") -> None:
        self.link_state = (state, detail)
        if state == "bound":
            self.bound.set()
        else:
            self.bound.clear()
            log.warning("connector %s: %s %s", self.record.name, state, detail)
        self.link_changed.set()

    async def receipt(self, *, forms: Any, state: str, stat: str, error: str = "") -> None:
        receipt = carriers.Receipt(self.record.id, forms[0], state, stat, error, self.scope, tuple(forms))
        await self._receipts.add(receipt)

    async def inbound(self, *, source: str, destination: str, text: str, concat: base.Concat | None) -> None:
        where = (concat.ref, concat.total, concat.seq) if concat else None
        record = self.record

        async def store(unit: Unit) -> int | None:
            return await carriers.inbound(
                unit, record.account_id, record.id, source=source, destination=destination, text=text, concat=where
            )

        # An ordinary unit, not the group writer: what hears of an inbound message (opt-out
        # keywords and their auto-reply, which is routed) may read caches and wait on them.
        async with self.core.unit() as unit:
            await store(unit)
        self.counts["inbound"] += 1

    # -- sending --------------------------------------------------------------------------

    async def _pump(self) -> None:
        wake = self.core.notifier.subscribe(("connector", self.record.id))
        try:
            while not self.stop.is_set():
                if not self.bound.is_set():
                    await _first(self.stop.wait(), self.bound.wait())
                    continue
                capacity = max(self.connector.window * 4, CLAIM_AT_ONCE)
                if len(self.inflight) > capacity // 2:  # claim in large batches: a claim costs the same for 1 or 200
                    self.room.clear()
                    await _first(self.stop.wait(), self.room.wait())
                    continue
                claimed = await self._claim(capacity - len(self.inflight))
                if not claimed:
                    await _first(self.stop.wait(), wake.get(), timeout=IDLE_POLL_SECONDS)
                    continue
                for row in claimed:
                    self.inflight.add(row.id)
                    asyncio.create_task(self._send(row))
        finally:
            self.core.notifier.unsubscribe(("connector", self.record.id), wake)

    async def _claim(self, limit: int) -> list[Any]:
        connector_id = self.record.id
        lease = self.core.settings.connector_lease_seconds
        try:
            return await self.core.write_now(
                lambda unit: queue.claim_for_connector(unit, connector_id, limit=limit, lease_seconds=lease)
            )
        except Exception:  # noqa: BLE001 - try again on the next turn
            log.exception("connector %s: claim failed", self.record.name)
            return []

    async def _send(self, row: Any) -> None:
        message = base.Outbound(
            id=row.id, recipient=row.recipient, body=row.body, sender=row.sender, channel=row.channel,
            encoding=row.encoding, media_url=row.media_url, extra=row.extra,
        )  # fmt: skip
        try:
            try:
                sent = await self.connector.send(message)
            except base.GiveBack as exc:
                result: tuple[Any, ...] = ("back", row.id, str(exc))
            except base.Refuse as exc:
                result = ("refused", row.id, exc.reason, exc.error)
            except Exception as exc:  # noqa: BLE001 - a bug must not lose the message
                log.exception("connector %s: send of message %s failed", self.record.name, row.id)
                result = ("back", row.id, f"send failed: {type(exc).__name__}")
            else:
                result = ("sent", carriers.Submitted(row.id, sent.ids, sent.keys, sent.parts, sent.error))
            await self._results.add(result)
        except Exception:  # noqa: BLE001 - the lease brings it back
            log.exception("connector %s: could not record message %s", self.record.name, row.id)
        finally:
            self.inflight.discard(row.id)
            self.room.set()

    async def _write_results(self, unit: Unit, results: list[tuple[Any, ...]]) -> None:
        done = [r[1] for r in results if r[0] == "sent"]
        early = self.connector.receipts_elsewhere or time.monotonic() - self.unmatched_at < EARLY_RECEIPTS_SECONDS
        await carriers.submitted(unit, self.record.id, done, scope=self.scope, early=early)
        back = [r for r in results if r[0] == "back"]
        for detail in {r[2] for r in back}:
            await carriers.give_back(unit, [r[1] for r in back if r[2] == detail], detail)
        for _, message_id, reason, error in (r for r in results if r[0] == "refused"):
            await carriers.refused(unit, [message_id], reason=reason, error=error)
        self.counts["sent"] += len(done)
        self.counts["given_back"] += len(back)
        self.counts["refused"] += sum(1 for r in results if r[0] == "refused")
        return None

    async def _write_receipts(self, unit: Unit, found: list[carriers.Receipt]) -> list[bool]:
        matched = await carriers.receipts(unit, found)
        hits = sum(matched)
        self.counts["receipts_matched"] += hits
        self.counts["receipts_unmatched"] += len(matched) - hits
        if hits < len(matched):
            self.unmatched_at = time.monotonic()
        return matched

    # -- the record's live state ------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while not self.stop.is_set():
            await self._report_now()
            self.link_changed.clear()
            await _first(self.stop.wait(), self.link_changed.wait(), timeout=HEARTBEAT_SECONDS)

    async def _report_now(self) -> None:
        connector_id = self.record.id
        state, detail = self.link_state
        if state != "bound":
            detail = str(self.connector.stats().get("last_error") or detail)
        if self.stop.is_set():
            state, detail = "down", "stopped"
        held = sorted(self.inflight)
        lease = self.core.settings.connector_lease_seconds

        async def write(unit: Unit) -> int:
            depth = await queue.queued_for_connector(unit, connector_id)
            await records.report(unit, connector_id, state=state, detail=detail, queue_depth=depth)
            await queue.renew_leases(unit, held, lease)
            return depth

        try:
            self.queue_depth = await self.core.write_now(write)
        except Exception:  # noqa: BLE001 - the next beat tries again
            log.exception("connector %s: could not report its state", self.record.name)
        self.core.cache.connectors.drop(self.record.account_id)

    def stats(self) -> dict[str, Any]:
        return {**self.connector.stats(), **self.counts, "queue_depth": self.queue_depth,
                "in_flight": len(self.inflight)}  # fmt: skip


def served() -> list[Runner]:
    return list(SERVED.values())


class _Quiet:
    """Reports of a probe: it only binds, so nothing is written."""

    async def receipt(self, **_: Any) -> None:
        raise RuntimeError("a probe does not take receipts")  # the SMSC keeps it for the real bind

    async def inbound(self, **_: Any) -> None:
        raise RuntimeError("a probe does not take messages")

    def link(self, state: str, detail: str = "") -> None:
        pass


async def probe(core: Core, record: records.Connector, *, timeout: float = 10.0) -> tuple[bool, str]:
    """Try the connector's link once (``connectors test``): (bound, what happened)."""
    connector = KINDS[record.kind].build(record, record.secrets(sealed.for_settings(core.settings)), _Quiet(),
                                         core.settings)  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(connector.run(stop))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while loop.time() < deadline and not task.done():
            if connector.state == "bound":
                return True, "bound"
            error = connector.stats().get("last_error")
            if error:
                return False, str(error)
            await asyncio.sleep(0.05)
        return False, f"no bind within {timeout:g} s"
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=5)
        except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - the probe's answer is already known
            task.cancel()


async def _first(*waits: Awaitable[Any], timeout: float | None = None) -> None:
    """Wait until the first of ``waits`` completes (or ``timeout``); cancel the rest."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
