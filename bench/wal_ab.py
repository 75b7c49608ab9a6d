"""``python -m bench.wal_ab SECONDS RATE MODES``: the group writer alone, WAL size and write latency.

No HTTP and no Postino schema: a table with four indexes on random keys (so each group
dirties several pages), paced writes through ``SQLiteGroupWriter`` from 32 callers, and
two reader threads. MODES is a comma list of restart thresholds in MiB, ``none`` for
copying with ``PASSIVE`` rounds only, e.g. ``python -m bench.wal_ab 20 2000 none,32``.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time

from sqlalchemy import Connection

from postino.db.engine import _tune_sqlite
from postino.db.writer import SQLiteGroupWriter

SCHEMA = """CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INT, c TEXT, d REAL, body TEXT);
CREATE INDEX ta ON t (a); CREATE INDEX tb ON t (b, id); CREATE INDEX tc ON t (c, id); CREATE INDEX td ON t (d);"""


def _work(conn: Connection) -> None:
    r = random.random
    conn.connection.dbapi_connection.execute(  # type: ignore[union-attr]
        "INSERT INTO t (a, b, c, d, body) VALUES (?, ?, ?, ?, ?)",
        (f"{r():.12f}", random.randrange(1000), f"c{random.randrange(100_000)}", r(), "x" * 120))


def run(restart_bytes: int | None, seconds: float, rate: float, readers: int = 2) -> str:
    path = os.path.join(tempfile.mkdtemp(prefix="wal-ab-"), "t.db")
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    db.close()
    writer = SQLiteGroupWriter(path, _tune_sqlite, restart_bytes=restart_bytes)
    stop = threading.Event()
    wal_max = [0]
    latencies: list[float] = []

    def read() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        while not stop.wait(0.002):
            conn.execute("BEGIN")
            conn.execute("SELECT count(*) FROM t WHERE b = ?", (random.randrange(1000),)).fetchall()
            conn.execute("SELECT * FROM t ORDER BY id DESC LIMIT 20").fetchall()
            conn.execute("COMMIT")
        conn.close()

    def sample() -> None:
        while not stop.wait(0.25):
            if os.path.exists(path + "-wal"):
                wal_max[0] = max(wal_max[0], os.stat(path + "-wal").st_size)

    threads = [threading.Thread(target=read) for _ in range(readers)] + [threading.Thread(target=sample)]
    for thread in threads:
        thread.start()

    async def main() -> None:
        callers = 32
        interval = callers / rate
        t0 = time.perf_counter()

        async def caller(k: int) -> None:
            due = t0 + k * interval / callers
            while time.perf_counter() - t0 < seconds:
                now = time.perf_counter()
                if due > now:
                    await asyncio.sleep(due - now)
                started = time.perf_counter()
                await writer.run(_work)
                latencies.append(time.perf_counter() - started)
                due += interval

        await asyncio.gather(*(caller(k) for k in range(callers)))
        await writer.close()

    asyncio.run(main())
    stop.set()
    for thread in threads:
        thread.join()
    latencies.sort()
    n = len(latencies)

    def q(p: float) -> float:
        return latencies[min(n - 1, int(n * p))] * 1000

    return (f"restart past {'never' if restart_bytes is None else f'{restart_bytes >> 20} MiB'}: {n / seconds:,.0f} "
            f"writes/s, p50 {q(0.5):.2f} p99 {q(0.99):.2f} p99.9 {q(0.999):.2f} max {latencies[-1] * 1000:.1f} ms; "
            f"WAL max {wal_max[0] / 2**20:.0f} MiB, restarts {writer._checkpointer.restarts}")


if __name__ == "__main__":
    secs, per_second = float(sys.argv[1]), float(sys.argv[2])
    for mode in sys.argv[3].split(","):
        print(run(None if mode == "none" else int(float(mode) * 2**20), secs, per_second), flush=True)
