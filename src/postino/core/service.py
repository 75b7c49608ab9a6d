"""The unit of work: one transaction plus what must happen only once it has committed.

Dialects and the device API open a unit, call core functions with it, and leave; wake-ups
(a phone's event stream) run after the commit so a phone never races its own message.
``Core.write_now`` runs the same core code as a work of the group-commit writer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.engine import Database
from ..settings import Settings
from .cache import Caches, TTLCache
from .events.notify import Notifier

T = TypeVar("T")
V = TypeVar("V")


@dataclass
class Unit:
    conn: AsyncConnection
    core: "Core"
    _after: list[Callable[[], None]] = field(default_factory=list)

    def after_commit(self, fn: Callable[[], None]) -> None:
        self._after.append(fn)

    @property
    def settings(self) -> Settings:
        return self.core.settings

    @property
    def is_postgres(self) -> bool:
        return self.core.db.is_postgres


@dataclass
class Listeners:
    """Who hears what core does, filled in by the wiring (``postino.wiring``), never by an import.

    Each list runs in order. The async ones run inside the transaction of the change they
    hear about, so what they write (outbox rows, refunds) commits or rolls back with it:

    - ``transition(unit, moved)``: messages moved by ``lifecycle.move`` / ``announce``;
    - ``received(unit, account_id, ids)``: inbound messages stored (born ``received``,
      they make no move);
    - ``offline(unit, devices)``: phones first noticed silent;
    - ``stored(drafts, states)``: outgoing messages written, called as they are written,
      on the thread that writes them (plain functions: counters, no I/O).
    """

    transition: list[Callable[..., Awaitable[None]]] = field(default_factory=list)
    received: list[Callable[..., Awaitable[None]]] = field(default_factory=list)
    offline: list[Callable[..., Awaitable[None]]] = field(default_factory=list)
    stored: list[Callable[..., None]] = field(default_factory=list)


class _WouldSuspend(Exception):
    """The code waited for something other than the database: it needs a real unit."""


class _ConnectionNow:
    """The part of ``AsyncConnection`` core code uses, over a plain connection: every await completes at once."""

    def __init__(self, conn: Connection) -> None:
        self.sync_connection = conn

    async def execute(self, statement: Any, parameters: Any = None, **kwargs: Any) -> Any:
        return self.sync_connection.execute(statement, parameters, **kwargs)

    async def scalar(self, statement: Any, parameters: Any = None, **kwargs: Any) -> Any:
        return self.sync_connection.scalar(statement, parameters, **kwargs)

    async def scalars(self, statement: Any, parameters: Any = None, **kwargs: Any) -> Any:
        return self.sync_connection.scalars(statement, parameters, **kwargs)

    async def exec_driver_sql(self, statement: str, parameters: Any = None, **kwargs: Any) -> Any:
        return self.sync_connection.exec_driver_sql(statement, parameters, **kwargs)

    async def run_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return fn(self.sync_connection, *args, **kwargs)


def _finish_now(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to its end in one step, or raise ``_WouldSuspend`` if it has to wait."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise _WouldSuspend


class Core:
    """What every entry point shares: settings, the database, the in-process notifier, the listeners."""

    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db or Database(settings.resolved_database_url(), mmap_bytes=settings.sqlite_mmap_bytes)
        self.notifier = Notifier()
        self.cache = Caches()
        self.listeners = Listeners()

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """A write transaction; after-commit hooks run only if it committed."""
        async with self.db.begin() as conn:
            unit = Unit(conn=conn, core=self)
            yield unit
        for fn in unit._after:
            fn()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Unit]:
        """A read-only unit (no BEGIN IMMEDIATE lock on SQLite)."""
        async with self.db.read() as conn:
            yield Unit(conn=conn, core=self)

    async def database_error(self) -> str | None:
        """None when the database answers a query, else the name of the error it raised (health checks)."""
        try:
            async with self.reader() as unit:
                await unit.conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure is the answer
            return type(exc).__name__
        return None

    async def read_cached(self, cache: TTLCache[V], key: Hashable, read: Callable[[Unit], Awaitable[V | None]]) -> V | None:
        """``cache``'s entry for ``key``, else ``read(unit)`` in a read-only unit, shared by
        every request that asks while it runs (``TTLCache.fetch``).

        The read's connection comes from the cache loads' own pool: callers may be holding a
        connection of the main pool while they wait for it (``Database.read_for_cache``).
        """

        async def load() -> V | None:
            async with self.db.read_for_cache() as conn:
                return await read(Unit(conn=conn, core=self))

        return await cache.fetch(key, load)

    async def write_now(self, fn: Callable[[Unit], Awaitable[T]]) -> T:
        """Run ``fn(unit)`` in one write transaction; on SQLite as one work of the group writer.

        Core code awaits the database statement by statement. On SQLite each await is a round
        trip through the event loop to the driver's thread, made while the one write lock is
        held, so under load a three-statement claim holds the lock for many turns of a busy
        loop and every other writer queues behind it. As a work of the group writer the same
        statements run back to back on the writer's connection, in its thread, and share its
        COMMIT; after-commit hooks run once it has committed, as with a unit. Code that waits
        for anything but the database (a listener doing I/O) is rolled back and run again in
        an ordinary unit, so the result is the same either way. PostgreSQL takes concurrent
        writers, so there it simply gets a unit.
        """
        if self.db.is_sqlite:
            hooks: list[Callable[[], None]] = []

            def work(conn: Connection) -> T:
                unit = Unit(conn=_ConnectionNow(conn), core=self)  # type: ignore[arg-type]
                try:
                    result = _finish_now(fn(unit))  # type: ignore[arg-type]
                except RuntimeError as exc:  # it reached for the event loop (a cache read): it needs a real unit
                    if "event loop" not in str(exc):
                        raise
                    raise _WouldSuspend from exc
                hooks.extend(unit._after)
                return result

            try:
                result = await self.db.writer.run(work)
            except _WouldSuspend:
                pass
            else:
                for hook in hooks:
                    hook()
                return result
        async with self.unit() as unit:
            return await fn(unit)
