"""Group commit: concurrent small writes share one transaction and one COMMIT.

A durable commit is the expensive part of accepting a message (an fsync-ordered WAL
append on SQLite, a WAL flush and a round trip on PostgreSQL). When a hundred requests
arrive together, one COMMIT for all of them costs about what one costs alone.

``await writer.run(work)`` queues ``work(conn)`` (a *synchronous* function over a
SQLAlchemy ``Connection``) and returns its result once the COMMIT of the group it ran in
has succeeded, so an answered id is durable. Each work runs in its own SAVEPOINT: one
that raises is rolled back alone and its caller gets the exception; the others commit.

A work may also name a ``Merge``: neighbouring works with the same merge key run as one
call over all their payloads (one multi-row INSERT instead of one statement per request).
If that call raises, it is rolled back and every work runs alone, so a bad request still
fails alone and the others still commit.

On SQLite the group runs in one thread with its own plain ``sqlite3`` connection (no
event-loop round trip per statement; the GIL is released while SQLite works). On
PostgreSQL it runs on a pooled asyncpg connection through ``run_sync``.

SQLite copies the WAL back into the database file (a checkpoint) inside the COMMIT that
crosses its threshold, so every thousandth page written would hold a whole group, and
every request waiting on it, for the length of a copy and two fsyncs. The writer turns
that off for its connection and a ``Checkpointer`` thread does it beside the writes.

Copying is not enough to keep the WAL small. SQLite starts the WAL again from its
beginning only when a write begins after a checkpoint has copied *every* frame and no
reader still reads from the WAL. Under steady load that moment does not come: the writer
appends groups while a ``PASSIVE`` round copies (it waits for nobody, so it ends behind),
and a reader's snapshot pins the frames after its mark. The file then grows as long as
the load lasts (535 MB and more under a campaign; ``journal_size_limit`` trims the file
only at a restart). So when the frames in use pass ``WAL_RESTART_BYTES`` the Checkpointer
takes the writers' turn (the lock the group writer and ``Database.begin`` take around a
transaction, so writers wait on a lock that wakes them at once, not in SQLite's sleeping
busy handler) and runs ``RESTART``: with no writer to race it can copy the last frames,
and the next group writes from the file's start.

A restart holds every write for as long as it runs, so the round copies beforehand, outside
the turn, with one more ``PASSIVE``. Under the turn there remain the frames written in
between and the syncs; waiting for readers is capped by a short busy timeout, after which
the turn is given back and the next round tries again, so a long report delays the restart
instead of stalling the writes. Nothing here opens the database file other than through
SQLite: closing any descriptor of that file drops every POSIX lock the process holds on it,
SQLite's included, and another process closing its connection then takes itself for the
last one and deletes the WAL under the running server.

The restart above keeps the WAL small only while the Checkpointer keeps up: a writer that
appends faster than a round copies (a fast disk, a heap whose collections hold every thread)
grows the WAL for as long as the rounds stay behind, and each longer copy lets it grow more.
So the WAL's file has a cap, ``WAL_CAP_BYTES``: a group that leaves the file past it makes
the writer wait for a restart before it takes the next (the file is cut back to
``journal_size_limit`` by the next write). Under the ordinary load the restarts keep the
file well under the cap and the writer never waits (``postino_wal_cap_wait_seconds``).

The threshold is half of ``journal_size_limit``: the file then never grows past the limit
under steady load, so the first COMMIT after a restart has nothing to cut (truncating the
file there is inside a COMMIT, and took up to 130 ms on a busy disk). That COMMIT still
syncs the WAL's new header, which SQLite needs against a power cut; restarting only every
32 MiB keeps that one sync rare.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any, TypeVar

from sqlalchemy import Connection, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import StaticPool

from .prepared import raw
from .timings import WriterTimings

log = logging.getLogger("postino.writer")

T = TypeVar("T")
Work = Callable[[Connection], Any]
MAX_GROUP = 256
"""Works per transaction: enough to share a COMMIT, few enough that answers are not held long."""
WAL_KEPT_BYTES = 64 * 1024 * 1024
"""A WAL grown past this by a burst is cut back to it when it restarts."""
WAL_RESTART_BYTES = WAL_KEPT_BYTES // 2
"""Frames in use past this make the Checkpointer restart the WAL (see the module's docstring)."""
WAL_CAP_BYTES = WAL_KEPT_BYTES * 3 // 2
"""A WAL file past this holds the writer until it restarts (see the module's docstring)."""
CAP_WAIT_SECONDS = 2.0
"""The longest the writer waits for that restart; it then writes on, and waits again only
after as long again (readers that pin the WAL must not slow the writes to a crawl)."""
RESTART_WAIT_MS = 20
"""How long a restart waits for readers to leave the WAL while it holds the writers' turn."""


@dataclass(frozen=True)
class Merge:
    """How a work joins its neighbours: ``fn(conn, payloads)`` returns one result per payload."""

    key: str
    payload: Any
    fn: Callable[[Connection, list[Any]], Sequence[Any]]


class _Item:
    __slots__ = ("future", "loop", "merge", "ok", "value", "work")

    def __init__(self, work: Work, future: asyncio.Future, loop: asyncio.AbstractEventLoop,
                 merge: Merge | None = None) -> None:
        self.work = work
        self.future = future
        self.loop = loop
        self.merge = merge
        self.ok = False
        self.value: Any = None


def run_group(conn: Connection, items: list[_Item]) -> None:
    """Run the works inside the caller's open transaction, each in a SAVEPOINT (or merged)."""
    for key, run in groupby(items, key=lambda item: item.merge.key if item.merge else None):
        run = list(run)
        if key is not None and len(run) > 1 and _run_merged(conn, run):
            continue
        for item in run:
            _run_alone(conn, item)


def _savepoint(conn: Connection, verb: str) -> None:
    """SAVEPOINT / ROLLBACK TO / RELEASE, on ``sqlite3`` directly where that is cheaper."""
    raw(conn, f"{verb} postino_work")


def _run_alone(conn: Connection, item: _Item) -> None:
    _savepoint(conn, "SAVEPOINT")
    try:
        item.value = item.work(conn)
    except BaseException as exc:  # noqa: BLE001 - handed to the waiting request
        _savepoint(conn, "ROLLBACK TO")
        _savepoint(conn, "RELEASE")
        item.ok, item.value = False, exc
    else:
        _savepoint(conn, "RELEASE")
        item.ok = True


def _run_merged(conn: Connection, run: list[_Item]) -> bool:
    """One call for the whole run; False (nothing left written) when it raised."""
    merge = run[0].merge
    assert merge is not None
    _savepoint(conn, "SAVEPOINT")
    try:
        results = merge.fn(conn, [item.merge.payload for item in run])  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - each work then runs alone and meets its own error
        _savepoint(conn, "ROLLBACK TO")
        _savepoint(conn, "RELEASE")
        return False
    _savepoint(conn, "RELEASE")
    for item, value in zip(run, results, strict=True):
        item.ok, item.value = True, value
    return True


def _settle(items: list[_Item], failure: BaseException | None) -> None:
    """Resolve the futures of one group (runs in their event loop)."""
    for item in items:
        if item.future.done():
            continue
        if failure is not None:
            item.future.set_exception(failure)
        elif item.ok:
            item.future.set_result(item.value)
        else:
            item.future.set_exception(item.value)


def _hand_back(items: list[_Item], failure: BaseException | None) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[_Item]] = {}
    for item in items:
        by_loop.setdefault(item.loop, []).append(item)
    for loop, group in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, group, failure)
        except RuntimeError:  # the loop has closed: nobody waits any more
            pass


class GroupWriter:
    """The common face; ``for_database`` picks the engine-specific one."""

    timings: WriterTimings

    async def run(self, work: Callable[[Connection], T], merge: Merge | None = None) -> T:
        raise NotImplementedError

    async def close(self) -> None:
        return None


def _file_size(path: str) -> int:
    """By ``stat``, which opens nothing (see the module's docstring on descriptors)."""
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


class Checkpointer:
    """Copies the WAL into the database file beside the writer, never inside its COMMIT.

    ``PASSIVE`` waits for no reader or writer; it copies what it can and runs again. Once
    the frames in use pass ``restart_bytes`` a round also restarts the WAL, holding the
    writers' ``turn`` for that short step only (the module's docstring says why).
    """

    EVERY = 0.2  # seconds between rounds (a round with nothing to copy costs a few microseconds)

    def __init__(self, path: str, turn: threading.Lock | None = None,
                 restart_bytes: int | None = WAL_RESTART_BYTES, timings: WriterTimings | None = None) -> None:
        self.path = path
        self.turn = turn or threading.Lock()
        self.timings = timings or WriterTimings()
        self.restart_bytes = restart_bytes
        self.restarts = 0
        """``RESTART`` checkpoints that found the WAL free: the next write starts it over."""
        self.rounds = 0
        """Rounds run (each a ``PASSIVE`` checkpoint, and a restart when one is due)."""
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._round = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="postino-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def restart_soon(self, timeout: float) -> bool:
        """Run rounds now, one after another, until one restarts the WAL; False after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._round:
            before = self.restarts
            while self.restarts == before and not self._stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.set()
                self._round.wait(left)
            return self.restarts > before

    def _loop(self) -> None:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            frame = conn.execute("PRAGMA page_size").fetchone()[0] + 24
            while not self._stop.is_set():
                self._wake.wait(self.EVERY)
                self._wake.clear()
                if self._stop.is_set():
                    break
                try:
                    _busy, frames, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if self.restart_bytes is not None and frames * frame > self.restart_bytes:
                        self._restart(conn)
                except sqlite3.Error as exc:  # a busy database: the next round tries again
                    log.debug("checkpoint skipped: %s", exc)
                with self._round:
                    self.rounds += 1
                    self._round.notify_all()
        finally:
            conn.close()

    def _restart(self, conn: sqlite3.Connection) -> None:
        """``RESTART`` with the writers held off; gives up after a short wait for readers."""
        # Copied here first, outside the turn, what is left under it is the frames written
        # since this round began.
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if not self.turn.acquire(timeout=1.0):  # a long write transaction: next round
            return
        started = time.perf_counter()
        try:
            conn.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
            busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        finally:
            held = time.perf_counter() - started
            self.turn.release()
            conn.execute("PRAGMA busy_timeout=30000")
        self.timings.restarted(held, done=not busy)
        log.debug("WAL restart %s (%s of %s frames copied), writers held %.1f ms", "deferred" if busy else "done",
                  copied, frames, held * 1000)
        if not busy:
            self.restarts += 1


class SQLiteGroupWriter(GroupWriter):
    """One thread, one ``sqlite3`` connection, one transaction per group."""

    def __init__(self, path: str, tune: Callable[[Any], None], turn: threading.Lock | None = None,
                 restart_bytes: int | None = WAL_RESTART_BYTES, kept_bytes: int = WAL_KEPT_BYTES,
                 cap_bytes: int | None = WAL_CAP_BYTES) -> None:
        if cap_bytes is not None and cap_bytes <= kept_bytes:
            raise ValueError("a WAL cap needs room above the size a restart cuts the file to")
        self._engine = create_engine(f"sqlite:///{path}", poolclass=StaticPool, connect_args={"check_same_thread": False})
        self._wal = path + "-wal"
        self._kept = kept_bytes
        self._cap = cap_bytes if restart_bytes is not None else None  # without restarts there is nothing to wait for
        self._cap_waits_from = 0.0
        tune(self._engine)
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._turn = turn or threading.Lock()
        self.timings = WriterTimings()
        self._checkpointer = Checkpointer(path, self._turn, restart_bytes, self.timings)

    async def run(self, work: Callable[[Connection], T], merge: Merge | None = None) -> T:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._ensure_thread()
        self._queue.put(_Item(work, future, loop, merge))
        return await future

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._loop, name="postino-writer", daemon=True)
                    self._thread.start()
                    self._checkpointer.start()

    def _loop(self) -> None:
        conn = self._engine.connect()
        raw(conn, "PRAGMA wal_autocheckpoint=0")  # the Checkpointer's job
        raw(conn, f"PRAGMA journal_size_limit={self._kept}")
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                items = [first]
                stop = False
                while len(items) < MAX_GROUP:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        stop = True
                        break
                    items.append(nxt)
                failure: BaseException | None = None
                started, cpu = time.perf_counter(), time.thread_time()
                try:
                    with self._turn, conn.begin():
                        run_group(conn, items)
                except BaseException as exc:  # noqa: BLE001 - BEGIN or COMMIT failed: nothing is durable
                    log.warning("group commit failed: %s", exc)
                    failure = exc
                self.timings.grouped(time.perf_counter() - started, time.thread_time() - cpu, len(items))
                _hand_back(items, failure)
                if stop:
                    return
                if self._cap is not None and _file_size(self._wal) > self._cap:
                    self._wait_for_restart()
        finally:
            conn.close()
            self._engine.dispose()

    def _wait_for_restart(self) -> None:
        """Hold the next group until the WAL restarts (the module's docstring says why)."""
        now = time.monotonic()
        if now < self._cap_waits_from:  # the last wait gave up lately: write on
            return
        if not self._checkpointer.restart_soon(CAP_WAIT_SECONDS):
            self._cap_waits_from = time.monotonic() + CAP_WAIT_SECONDS
            log.warning("the WAL passed %d MiB and readers kept it from restarting for %.0f s", self._cap >> 20,
                        CAP_WAIT_SECONDS)
        self.timings.capped(time.monotonic() - now)

    async def close(self) -> None:
        thread = self._thread
        if thread is None:
            self._engine.dispose()
            return
        self._queue.put(None)
        await asyncio.to_thread(thread.join, 10)
        await asyncio.to_thread(self._checkpointer.stop)
        self._thread = None


class AsyncGroupWriter(GroupWriter):
    """PostgreSQL: one group at a time on a connection of its own, works via ``run_sync``."""

    def __init__(self, engine: AsyncEngine, *, owned: bool = False) -> None:
        self._engine = engine
        self._owned = owned
        """The engine is the writer's own (its one connection): closing the writer disposes of it."""
        self._pending: list[_Item] = []
        self._task: asyncio.Task | None = None
        self.timings = WriterTimings()

    async def run(self, work: Callable[[Connection], T], merge: Merge | None = None) -> T:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append(_Item(work, future, loop, merge))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            items, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
            failure: BaseException | None = None
            started = time.perf_counter()
            try:
                async with self._engine.begin() as conn:
                    await conn.run_sync(run_group, items)
            except BaseException as exc:  # noqa: BLE001
                log.warning("group commit failed: %s", exc)
                failure = exc
            self.timings.grouped(time.perf_counter() - started, None, len(items))
            _settle(items, failure)

    async def close(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._owned:
            await self._engine.dispose()
