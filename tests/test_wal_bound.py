"""The WAL stays bounded while the group writer writes on and readers keep reading.

SQLite starts its WAL over only when a write begins after every frame was copied back and
no reader still reads from the WAL. Group writes that never pause and readers whose
snapshots overlap mean that moment never comes by itself; the Checkpointer makes it. A
writer faster than the Checkpointer's rounds would still outgrow them, so past its cap the
WAL holds the writer until it restarts.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection

from postino.db import writer as writer_module
from postino.db.engine import _tune_sqlite
from postino.db.writer import SQLiteGroupWriter
from tests.support import wait_for

MB = 1024 * 1024
RESTART_BYTES = 1 * MB
KEPT_BYTES = 16 * MB
CAP_BYTES = 24 * MB
BOUND_BYTES = CAP_BYTES + 1 * MB
"""The cap plus the group that crossed it (two works of five rows here)."""
WRITTEN_BYTES = 96 * MB
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


def _assert_stored(path: str, written: int) -> None:
    """Every row written is in the table: no write was lost to a restart or a wait."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] * len(ROW) == written
    finally:
        conn.close()


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
    monkeypatch.setattr(writer_module, "CAP_WAIT_SECONDS", 30)  # these readers never pin the WAL that long
    writer = SQLiteGroupWriter(path, _tune_sqlite, restart_bytes=RESTART_BYTES, kept_bytes=KEPT_BYTES,
                               cap_bytes=CAP_BYTES)
    seen: list[tuple[float, int, int, int]] = []
    watching = threading.Event()

    def watch() -> None:  # what a failure is explained by: the WAL's size beside the rounds and restarts
        start = time.monotonic()
        checkpointer = writer._checkpointer
        while not watching.wait(0.05):
            seen.append((time.monotonic() - start, _wal_size(path), checkpointer.rounds, checkpointer.restarts))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        await wait_for(lambda: all(readers), message="both readers reading")
        reads_before = list(readers)
        written, largest = await _write_on(writer, path)
        watching.set()
        watcher.join(5)
        assert largest <= BOUND_BYTES, (
            f"WAL reached {largest:,} bytes; restarts {writer._checkpointer.restarts}, deferred "
            f"{writer.timings.restarts_deferred}, rounds {writer._checkpointer.rounds}, "
            f"cap waits {writer.timings.cap_waits.count}; "
            "(s, WAL MB, rounds, restarts): " + " ".join(f"({t:.2f},{w / 2**20:.0f},{r},{n})" for t, w, r, n in seen)
        )
        assert writer._checkpointer.restarts >= 2
        assert all(after > before for before, after in zip(reads_before, readers, strict=True))
        # Each restart's hold is counted where /metrics reads it, done or deferred.
        holds = writer.timings.restart_hold
        assert holds.count == writer._checkpointer.restarts + writer.timings.restarts_deferred
        assert 0 < holds.total < 2.5 * holds.count  # each under its wait for readers, and more than nothing
        assert writer.timings.group.count > 0 and writer.timings.works == written // len(ROW) // 5  # 5 rows a work
    finally:
        watching.set()
        await writer.close()
    _assert_stored(path, written)


async def test_past_its_cap_the_wal_holds_the_writer_until_it_restarts(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rounds that never come by themselves (a Checkpointer that cannot keep up): the cap alone
    keeps the WAL's file at its size, each time the file passes it."""
    monkeypatch.setattr(writer_module.Checkpointer, "EVERY", 3600.0)
    monkeypatch.setattr(writer_module, "CAP_WAIT_SECONDS", 30)
    writer = SQLiteGroupWriter(path, _tune_sqlite, restart_bytes=RESTART_BYTES, kept_bytes=4 * MB, cap_bytes=8 * MB)
    try:
        written = largest = 0
        i = 0
        while written < 48 * MB:
            written += await writer.run(_insert(5, i)) * len(ROW)
            largest = max(largest, _wal_size(path))
            i += 5
        assert largest <= 9 * MB, f"WAL reached {largest:,} bytes"
        checkpointer = writer._checkpointer
        assert writer.timings.cap_waits.count >= 3
        assert checkpointer.restarts == checkpointer.rounds == writer.timings.cap_waits.count  # each wait, one round
        assert writer.timings.restarts_deferred == 0
    finally:
        await writer.close()
    _assert_stored(path, written)


def test_a_cap_must_be_above_the_size_a_restart_cuts_the_wal_to(path: str) -> None:
    with pytest.raises(ValueError, match="room above"):
        SQLiteGroupWriter(path, _tune_sqlite, kept_bytes=8 * MB, cap_bytes=8 * MB)


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
