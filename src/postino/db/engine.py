"""The database engine: SQLite (WAL) by default, PostgreSQL when the URL says so."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy import Engine, event, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from .sqlite_driver import one_trip_url
from .timings import WriterTimings
from .writer import AsyncGroupWriter, GroupWriter, SQLiteGroupWriter

CACHE_LOADS = 6
"""Cache loads at once per process: each is one short read, shared by all who ask meanwhile."""


class Database:
    """One engine plus the two ways core code uses it: a read, or a write transaction."""

    def __init__(self, url: str, *, echo: bool = False, mmap_bytes: int = 0) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.is_postgres = url.startswith("postgresql")
        kwargs: dict = {"echo": echo}
        engine_url = url
        if self.is_sqlite:
            engine_url = one_trip_url(url)  # aiosqlite, one trip to its thread a statement
            # Readers are cheap on SQLite, but opening one is not (a thread and four PRAGMAs):
            # a pool large enough for a busy API keeps them instead of churning them.
            kwargs.update(connect_args={"timeout": 30}, pool_size=20, max_overflow=20)
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(engine_url, **kwargs)
        # Cached reads take their connections from a pool of their own. A request that holds
        # a connection (a write transaction) and then needs a cached row waits for the load;
        # were the load to queue for the same pool, a pool held by such requests would wait
        # on itself until its timeout. A load holds nothing while it waits, so its small
        # pool always drains.
        kwargs.update(pool_size=2, max_overflow=CACHE_LOADS - 2)
        self.cache_engine: AsyncEngine = create_async_engine(engine_url, **kwargs)
        if self.is_sqlite:
            _tune_sqlite(self.engine.sync_engine, mmap_bytes)
            _tune_sqlite(self.cache_engine.sync_engine, mmap_bytes)
        self._writer: GroupWriter | None = None
        # SQLite has one write lock per file; when two connections of this process collide
        # on it, SQLite's busy handler sleeps (1 ms growing to 100 ms). Taking turns here
        # first means they queue and wake at once instead.
        self.write_turn = threading.Lock()
        self._async_turn: asyncio.Lock | None = None

    @property
    def writer(self) -> GroupWriter:
        """The group-commit writer of this process (started on first use)."""
        if self._writer is None:
            path = make_url(self.url).database if self.is_sqlite else None
            if path and path != ":memory:" and not path.startswith("file:"):
                self._writer = SQLiteGroupWriter(path, _tune_sqlite, self.write_turn)
            elif self.is_postgres:
                # A connection of its own: requests that hold a pooled connection while
                # they wait for their write must not leave the writer waiting for the pool.
                own = create_async_engine(self.url, pool_size=1, max_overflow=0, pool_pre_ping=True)
                self._writer = AsyncGroupWriter(own, owned=True)
            else:  # an in-memory SQLite database exists only in this engine
                self._writer = AsyncGroupWriter(self.engine)
        return self._writer

    def writer_timings(self) -> WriterTimings | None:
        """The group writer's durations, once it has been made (``/metrics``)."""
        return self._writer.timings if self._writer is not None else None

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed on success, rolled back on any error."""
        if not self.is_sqlite:
            async with self.engine.begin() as conn:
                yield conn
            return
        if self._async_turn is None:
            self._async_turn = asyncio.Lock()
        # The connection first, then the turn: whoever holds the turn must not wait for the
        # pool. Requests that hold a pooled reader while the group writer writes for them
        # would otherwise keep a unit that holds the turn (a scheduler tick) from getting
        # its connection, and the writer would wait for that turn.
        async with self.engine.connect() as conn, self._async_turn:
            if not self.write_turn.acquire(blocking=False):
                await asyncio.to_thread(self.write_turn.acquire)
            try:
                async with conn.begin():
                    yield conn
            finally:
                self.write_turn.release()

    def read(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return _read(self.engine)

    def read_for_cache(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A read on the cache loads' own pool (see ``__init__``)."""
        return _read(self.cache_engine)

    async def dispose(self) -> None:
        if self._writer is not None:
            await self._writer.close()
            self._writer = None
        await self.cache_engine.dispose()
        await self.engine.dispose()


@asynccontextmanager
async def _read(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        await conn.execution_options(postino_read=True)
        yield conn


def _tune_sqlite(engine: Engine, mmap_bytes: int = 0) -> None:
    """WAL for concurrent readers; BEGIN IMMEDIATE so two writers queue instead of failing.

    ``synchronous=NORMAL`` in WAL mode survives a killed process (the WAL is in the OS
    page cache); only a power cut could lose the last commits.

    ``mmap_bytes`` maps the file for the pool's connections. Each connection otherwise
    copies the pages it reads into a cache of its own, which any write by anyone empties:
    with twenty pooled readers and a steady trickle of writes, a history query kept
    re-reading its index pages (figure 5 in docs/benchmarks.md: p95 71-96 ms after the
    phones' figure, 52-54 ms mapped). The group writer gets no map: it reads few pages,
    and mapped pages count in the process's resident size.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if mmap_bytes:
            cur.execute(f"PRAGMA mmap_size={int(mmap_bytes)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # noqa: ANN001
        read = conn.get_execution_options().get("postino_read", False)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")
