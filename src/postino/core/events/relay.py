"""Wake-ups across processes on PostgreSQL: the notifier's publishes travel by LISTEN/NOTIFY.

When several Postino processes share one PostgreSQL, the process that queues a message
is often not the one holding the phone's event stream (nor the one running the outbox
sender). Each process keeps one dedicated asyncpg connection: it ``LISTEN``s on one
channel, and every local publish is sent there with ``pg_notify``; what it hears from
the other processes it publishes locally with ``relay=False`` (so it never echoes).

Still only hints: the queue is in the database. A notification lost while the
connection was down delays a message until the phone's next poll; after reconnecting
the relay wakes every local subscriber once, so nothing waits even that long.
SQLite has no such channel: an SQLite set-up is one process.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
import orjson
from sqlalchemy.engine import make_url

from .notify import Notifier

log = logging.getLogger("postino.relay")

CHANNEL = "postino_events"
MAX_PAYLOAD = 7000
"""PostgreSQL caps a notification at 8,000 bytes: bigger batches are split."""
PENDING_CAP = 10_000
"""Publishes waiting to be sent while the connection is slow or down; past it they are dropped (hints)."""
IDLE_CHECK_SECONDS = 30.0
CONNECT_TIMEOUT = 10.0


def asyncpg_dsn(database_url: str) -> str:
    """The plain ``postgresql://`` DSN asyncpg takes, from the SQLAlchemy URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def encode_key(key: Any) -> Any:
    return list(key) if isinstance(key, tuple) else key


def decode_key(key: Any) -> Any:
    """Keys are strings or tuples (``("device", 7)``); JSON turned the tuples into lists."""
    return tuple(key) if isinstance(key, list) else key


def pack(items: list[tuple[Any, str, dict]]) -> list[str]:
    """Payloads of at most ``MAX_PAYLOAD`` bytes, each a JSON list of ``[key, event, data]``."""
    payloads: list[str] = []
    current: list[bytes] = []
    size = 2
    for key, event, data in items:
        part = orjson.dumps([encode_key(key), event, data])
        if current and size + len(part) + 1 > MAX_PAYLOAD:
            payloads.append((b"[" + b",".join(current) + b"]").decode())
            current, size = [], 2
        if len(part) + 2 > MAX_PAYLOAD:
            log.warning("relay: dropped an event too large to notify (%s)", event)
            continue
        current.append(part)
        size += len(part) + 1
    if current:
        payloads.append((b"[" + b",".join(current) + b"]").decode())
    return payloads


class PgRelay:
    """One process's end of the channel; ``await start()`` once, ``await close()`` at shutdown."""

    def __init__(self, notifier: Notifier, database_url: str) -> None:
        self.notifier = notifier
        self.dsn = asyncpg_dsn(database_url)
        self._pending: asyncio.Queue[tuple[Any, str, dict]] = asyncio.Queue(maxsize=PENDING_CAP)
        self._conn: asyncpg.Connection | None = None
        self._pid: int | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._closed = False
        self.received = 0
        """Events heard from other processes (for tests and metrics)."""
        notifier.add_listener(self._on_publish)

    async def start(self) -> None:
        """Connect now if the database answers (so wake-ups cross from the first request), else keep trying."""
        try:
            await self._connect()
        except Exception as exc:  # noqa: BLE001 - the background loop keeps trying
            log.warning("relay: cannot LISTEN yet (%s); retrying in the background", type(exc).__name__)
        self._task = asyncio.create_task(self._run(), name="postino-relay")

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._disconnect()

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    # --- sending -----------------------------------------------------------------------

    def _on_publish(self, key: Any, event: str, data: dict) -> None:
        if self._closed:
            return
        try:
            self._pending.put_nowait((key, event, data))
        except asyncio.QueueFull:
            pass  # a hint; every phone also polls

    def _take_batch(self, first: tuple[Any, str, dict]) -> list[tuple[Any, str, dict]]:
        """Everything waiting, the same wake-up only once (a bulk send wakes a phone once)."""
        batch = [first]
        while True:
            try:
                batch.append(self._pending.get_nowait())
            except asyncio.QueueEmpty:
                break
        seen: set[bytes] = set()
        unique = []
        for item in batch:
            ident = orjson.dumps([encode_key(item[0]), item[1], item[2]])
            if ident not in seen:
                seen.add(ident)
                unique.append(item)
        return unique

    async def _send(self, conn: asyncpg.Connection, batch: list[tuple[Any, str, dict]]) -> None:
        for payload in pack(batch):
            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)

    # --- receiving ---------------------------------------------------------------------

    def _on_notify(self, _conn: Any, pid: int, _channel: str, payload: str) -> None:
        if pid == self._pid:
            return  # our own NOTIFY: already published here
        try:
            items = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.warning("relay: ignored a malformed notification")
            return
        for item in items:
            if isinstance(item, list) and len(item) == 3 and isinstance(item[1], str):
                self.received += 1
                self.notifier.publish(decode_key(item[0]), item[1], item[2] or {}, relay=False)

    # --- the connection ----------------------------------------------------------------

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT)
        try:
            await conn.add_listener(CHANNEL, self._on_notify)
            self._pid = conn.get_server_pid()
        except BaseException:
            await conn.close()
            raise
        self._lost.clear()
        conn.add_termination_listener(lambda _c: self._lost.set())
        self._conn = conn

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), timeout=2)
            except Exception:  # noqa: BLE001 - going away anyway
                conn.terminate()

    def _wake_everyone(self) -> None:
        """After a gap, every local listener pulls once: it may have missed a wake-up."""
        for key in self.notifier.keys():
            if isinstance(key, tuple) and key and key[0] == "device":
                self.notifier.publish(key, "MessageEnqueued", relay=False)
            elif key == "outbox":
                self.notifier.publish(key, "pending", relay=False)

    async def _run(self) -> None:
        delay = 0.2
        while True:
            if not self.connected:
                await self._disconnect()
                try:
                    await self._connect()
                except Exception as exc:  # noqa: BLE001 - keep trying whatever the database says
                    log.warning("relay: reconnect failed (%s)", type(exc).__name__)
                    await asyncio.sleep(delay)
                    delay = min(5.0, delay * 2)
                    continue
                log.info("relay: listening again")
                delay = 0.2
                self._wake_everyone()
            try:
                await self._pump()
            except Exception as exc:  # noqa: BLE001 - reconnect whatever broke
                log.warning("relay: connection lost (%s)", type(exc).__name__)
                await self._disconnect()

    async def _pump(self) -> None:
        """Send what is published until the connection is lost; check an idle one now and then."""
        assert self._conn is not None
        conn = self._conn
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            while not conn.is_closed():
                getter = asyncio.ensure_future(self._pending.get())
                done, _ = await asyncio.wait({getter, lost}, timeout=IDLE_CHECK_SECONDS,
                                             return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    if lost in done:
                        return
                    await conn.execute("SELECT 1")
                    continue
                await self._send(conn, self._take_batch(getter.result()))
        finally:
            lost.cancel()
