"""The WAL stays bounded while the group writer writes on and readers keep reading.

SQLite starts its WAL over only when a write begins after every frame was copied back and
no reader still reads from the WAL. Group writes that never pause and readers whose
snapshots overlap mean that moment never comes by itself; the Checkpointer makes it.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection

from postino.db import writer as writer_module
from postino.db.engine import _tune_sqlite
from postino.db.writer import SQLiteGroupWriter
from tests.support import wait_for

RESTART_BYTES = 1024 * 1024
BOUND_BYTES = 64 * RESTART_BYTES
"""The restart threshold plus what the writer adds while a round comes round and copies, with
room for a restart put off by a reader (on a loaded two-core machine a round with its fsyncs
can take most of a second, and the writer adds 10-20 MB a second)."""
WRITTEN_BYTES = 96 * 1024 * 1024
"""Rows written in all; their WAL frames come to more still, so without restarts the WAL
would end several times the bound."""
ROW = b"x" * 2000


@pytest.fixture
def path(tmp_path: Path) -> str:
    db = tmp_path / "wal.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, k INTEGER, body BLOB)")
    conn.execute("CREATE INDEX notes_k ON notes (k, id)")
    conn.close()
    return str(db)


@pytest.fixture
def readers(path: str) -> Iterator[list[int]]:
    """Two threads that keep a read snapshot open in turn, so one is nearly always held."""
    stop = threading.Event()
    reads = [0, 0]

    def read(slot: int) -> None:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            while not stop.is_set():
                conn.execute("BEGIN")
                conn.execute("SELECT count(*), max(id) FROM notes WHERE k = ?", (slot,)).fetchone()
                conn.execute("SELECT body FROM notes ORDER BY id DESC LIMIT 5").fetchall()
                conn.execute("COMMIT")
                reads[slot] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=read, args=(slot,), daemon=True) for slot in range(2)]
    for thread in threads:
        thread.start()
    yield reads
    stop.set()
    for thread in threads:
        thread.join(10)


def _insert(rows: int, start: int) -> Callable[[Connection], int]:
    def work(conn: Connection) -> int:
        cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cur.executemany("INSERT INTO notes (k, body) VALUES (?, ?)", [((start + i) % 7, ROW) for i in range(rows)])
        cur.close()
        return rows

    return work


def _wal_size(path: str) -> int:
    try:
        return os.stat(path + "-wal").st_size
    except FileNotFoundError:
        return 0


async def _write_on(writer: SQLiteGroupWriter, path: str) -> tuple[int, int]:
    """``WRITTEN_BYTES`` of rows from two callers that never pause; the largest WAL file seen.

    The writes must not pause: in a pause the rounds catch up and SQLite restarts the WAL
    by itself, which is not what is under test.
    """
    written = largest = 0

    async def caller(n: int) -> None:
        nonlocal written, largest
        i = 0
        while written < WRITTEN_BYTES:
            rows = await writer.run(_insert(5, n * 10_000_000 + i))
            written += rows * len(ROW)  # after the await: the other caller adds in between
            largest = max(largest, _wal_size(path))
            i += 5

    await asyncio.gather(caller(0), caller(1))
    return written, largest


async def test_the_wal_stays_under_its_bound_while_readers_read(
    path: str, readers: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A reader thread can keep its snapshot for as long as it waits for the GIL, which on a
    # busy test machine outlasts the server's short wait; give the restart time to see
    # every snapshot end (readers started after the copy read past the WAL and do not count).
    monkeypatch.setattr(writer_module, "RESTART_WAIT_MS", 2000)
    writer = SQLiteGroupWriter(path, _tune_sqlite, restart_bytes=RESTART_BYTES)
    try:
        await wait_for(lambda: all(readers), message="both readers reading")
        reads_before = list(readers)
        written, largest = await _write_on(writer, path)
        assert largest <= BOUND_BYTES, f"WAL reached {largest:,} bytes"
        assert writer._checkpointer.restarts >= 2
        assert all(after > before for before, after in zip(reads_before, readers, strict=True))
        # Each restart's hold is counted where /metrics reads it, done or deferred.
        holds = writer.timings.restart_hold
        assert holds.count == writer._checkpointer.restarts + writer.timings.restarts_deferred
        assert 0 < holds.total < 2.5 * holds.count  # each under its wait for readers, and more than nothing
        assert writer.timings.group.count > 0 and writer.timings.works == written // len(ROW) // 5  # 5 rows a work
    finally:
        await writer.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] * len(ROW) == written
    finally:
        conn.close()


def test_a_restart_leaves_the_process_locks_on_the_database(path: str) -> None:
    """A restart round must not drop this process's locks on the database file: with them gone,
    another process closing its connection takes itself for the last and deletes the WAL."""
    server = sqlite3.connect(path, isolation_level=None)  # this process's connection, open throughout
    for i in range(200):
        server.execute("INSERT INTO notes (k, body) VALUES (?, ?)", (i % 7, ROW))
    checkpointer = writer_module.Checkpointer(path, restart_bytes=0)
    rounds = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        checkpointer._restart(rounds)
        assert checkpointer.restarts == 1
        server.execute("INSERT INTO notes (k, body) VALUES (1, ?)", (ROW,))  # the WAL in use again
        other = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
                 " c.execute('SELECT count(*) FROM notes').fetchone(); c.close()")
        subprocess.run([sys.executable, "-c", other, path], check=True, timeout=30)
        assert os.path.exists(path + "-wal")
        assert server.execute("SELECT count(*) FROM notes").fetchone()[0] == 201
    finally:
        rounds.close()
        server.close()
