"""Figure 11: where a send goes when it names no phone, behind a growing queue.

``python -m bench.routing`` (and ``bench/run``'s figure 11) makes a fresh SQLite data dir
with two accounts, one with one phone and one with two, then times core's default route
(``routing.default.plan``, which every send API runs for a message without a phone) for
one message, with 0, 10,000 and 100,000 messages queued for the account's phones. Each
figure is the CPU of the whole process per plan, the median of the rounds; the ratio to
the empty queue is measured in the same run.

One phone takes every message whatever its queue holds, so its queue is not counted.
Several phones are chosen least-queued first, which counts their queued messages (a cost
that grows with the queue: 13.8 ms a plan behind 100,000 when every plan counted); the
counts are read at most once a second, plus what the process routed since, so with sends
coming faster than one a second (each round here takes a few milliseconds) a plan costs
the same behind any queue. Both ratios should stay near 1.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from . import services

BACKLOGS = (0, 10_000, 100_000)
ROUNDS = 5
N = 40
_COLUMNS = ("account_id, direction, channel, device_id, slot, recipient, recipient_raw, sender, body, encoding, "
            "segments, state, urgent, priority, attempts, price, product, seq, created_at, updated_at")


def _queue(db: sqlite3.Connection, account_id: int, device_ids: list[int], total: int) -> None:
    """Top the account's queue up to ``total`` messages, spread over its phones (the server is not running)."""
    have = db.execute("SELECT count(*) FROM messages WHERE account_id = ?", (account_id,)).fetchone()[0]
    rows = [(account_id, device_ids[i % len(device_ids)], f"+39348{i:07d}", f"+39348{i:07d}")
            for i in range(have, total)]
    db.executemany(f"INSERT INTO messages ({_COLUMNS}) VALUES (?, 'out', 'sms', ?, 0, ?, ?, '', 'x', 'gsm', 1, "
                   f"'queued', 0, 1.0, 0, 0, 'sms', 0, '2026-01-01 10:00:00', '2026-01-01 10:00:00')", rows)
    db.commit()


async def _plan_cpu(data_dir: Path, account_id: int) -> float:
    """µs of the process's CPU per default route of one message, the median of ``ROUNDS``."""
    from postino.core.routing import default
    from postino.core.service import Core
    from postino.settings import Settings

    core = Core(Settings(data_dir=data_dir))
    try:
        async with core.reader() as unit:
            await default.plan(unit, account_id, "sms", 1)
            rounds = []
            for _ in range(ROUNDS):
                started = time.process_time()
                for _ in range(N):
                    await default.plan(unit, account_id, "sms", 1)
                rounds.append((time.process_time() - started) / N * 1e6)
        return statistics.median(rounds)
    finally:
        await core.db.dispose()


def run(work: Path | None = None) -> list[tuple[str, list[float]]]:
    """(phones, µs per plan at each of ``BACKLOGS``) for an account with one phone and one with two."""
    import uvloop

    work = work or Path(tempfile.mkdtemp(prefix="postino-routing-"))
    data_dir = work / "data"
    accounts = []
    for phones in (1, 2):
        account = services.create_account(data_dir, f"routing{phones}@example.com")
        ids = [services.register_device(data_dir, account["id"], f"phone {i}") for i in range(phones)]
        accounts.append((f"{phones} phone{'s' if phones > 1 else ''}", account["id"], ids))
    found: dict[str, list[float]] = {name: [] for name, _, _ in accounts}
    db = sqlite3.connect(data_dir / "postino.db")
    try:
        for backlog in BACKLOGS:
            for name, account_id, ids in accounts:
                _queue(db, account_id, ids, backlog)
                found[name].append(uvloop.run(_plan_cpu(data_dir, account_id)))
    finally:
        db.close()
    return list(found.items())


def table(rows: list[tuple[str, list[float]]]) -> str:
    head = "| account | " + " | ".join(f"{b:,} queued" for b in BACKLOGS) + f" | {BACKLOGS[-1]:,} / 0 |"
    lines = [head, "|---" * (len(BACKLOGS) + 2) + "|"]
    for name, cpu in rows:
        lines.append(f"| {name} | " + " | ".join(f"{c:,.0f} µs" for c in cpu) + f" | x{cpu[-1] / cpu[0]:.2f} |")
    return "\n".join(lines)


def main() -> int:
    print("11. Default route of one message behind a queue, CPU per plan (python -m bench.routing)")
    print(table(run()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
