"""Figure 10: one statement through the async SQLite engine, the one-trip driver against SQLAlchemy's.

``python -m bench.statements`` (and ``bench/run``'s figure 10) makes a fresh SQLite data
dir with one account, then times, in alternating rounds, the same reads and writes on
two engines over the same file: the engine ``Database`` makes (``db/sqlite_driver.py``,
one trip to the connection's thread a statement) and SQLAlchemy's own aiosqlite adapter
(four trips: cursor, execute, fetch, close). Each figure is CPU per operation, the event
loop's thread alone and every thread of the process, the median of the rounds; the
ratio is measured in the same run, so the machine's speed cancels out.

Every request off SmsGateway24's fast path (MessaggiSMS, NusaSMS, the SMS Gate API, the
phones' API, the dashboard) runs its statements this way; the group writer does not
(it has a plain sqlite3 connection in its own thread).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import create_async_engine

from . import services

ROUNDS = 7
N = 400


async def _round(op: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """µs per ``op``: the event loop's thread, and every thread of the process (as figure 9's wholes)."""
    loop0, all0 = time.thread_time(), time.process_time()
    for _ in range(N):
        await op()
    return (time.thread_time() - loop0) / N * 1e6, (time.process_time() - all0) / N * 1e6


async def measure(data_dir: Path, account_id: int) -> list[tuple[str, float, float, float, float]]:
    """(operation, loop µs one-trip, loop µs SQLAlchemy's, all µs one-trip, all µs SQLAlchemy's)."""
    from postino.db.engine import Database, _tune_sqlite
    from postino.db.tables import accounts
    from postino.settings import Settings

    url = Settings(data_dir=data_dir).resolved_database_url()
    ours = Database(url)
    theirs = Database(url)
    theirs.engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=20, max_overflow=20)
    _tune_sqlite(theirs.engine.sync_engine)
    by_id = select(accounts).where(accounts.c.id == account_id)
    touch = update(accounts).where(accounts.c.id == account_id).values(timezone="UTC")

    def ops(db: Database) -> dict[str, Callable[[], Awaitable[Any]]]:
        async def read() -> None:
            async with db.read() as conn:
                (await conn.execute(by_id)).one()

        async def write() -> None:
            async with db.begin() as conn:
                await conn.execute(touch)

        return {"a read: one row by id (BEGIN, SELECT, ROLLBACK)": read,
                "a write: one UPDATE (BEGIN IMMEDIATE, UPDATE, COMMIT)": write}

    mine, stock = ops(ours), ops(theirs)
    rows = []
    try:
        for name in mine:
            await _round(mine[name])
            await _round(stock[name])
            a: list[tuple[float, float]] = []
            b: list[tuple[float, float]] = []
            for _ in range(ROUNDS):
                a.append(await _round(mine[name]))
                b.append(await _round(stock[name]))
            rows.append((name, statistics.median(x[0] for x in a), statistics.median(x[0] for x in b),
                         statistics.median(x[1] for x in a), statistics.median(x[1] for x in b)))
    finally:
        await ours.dispose()
        await theirs.dispose()
    return rows


def table(rows: list[tuple[str, float, float, float, float]]) -> str:
    head = "| operation | event loop: one trip / SQLAlchemy's | all threads: one trip / SQLAlchemy's |"
    lines = [head, "|---|---|---|"]
    for name, la, lb, aa, ab in rows:
        lines.append(f"| {name} | {la:.0f} / {lb:.0f} µs (x{la / lb:.2f}) | {aa:.0f} / {ab:.0f} µs (x{aa / ab:.2f}) |")
    return "\n".join(lines)


def run(work: Path | None = None) -> list[tuple[str, float, float, float, float]]:
    import uvloop

    work = work or Path(tempfile.mkdtemp(prefix="postino-statements-"))
    data_dir = work / "data"
    account = services.create_account(data_dir, "statements@example.com")
    return uvloop.run(measure(data_dir, account["id"]))


def main() -> int:
    rows = run()
    print("10. One statement through the async SQLite engine (python -m bench.statements), median of "
          f"{ROUNDS} alternating rounds of {N}")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
