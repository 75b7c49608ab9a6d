"""``python -m bench``: start what the figures need on loopback, measure, print the table.

Everything runs in a temporary folder: a fresh SQLite data dir, real ``postino serve``
and ``postino device simulate`` processes, and the bare ASGI app; ``wrk`` drives all load.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from . import budget, campaign, figures, loadgen, routing, services, statements


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor() or "unknown CPU")
    mem_kb = int(next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines()
                      if ln.startswith("MemTotal")))
    return (f"{cpu}, {os.cpu_count()} cores, {mem_kb / 1024 / 1024:.0f} GiB RAM, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, load average at start {os.getloadavg()[0]:.1f}")


def table(rows: list[figures.Row]) -> str:
    head = ("figure", "measured", "target", "result")
    cells = [head] + [(r.figure, r.measured, r.target, r.verdict) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    lines = ["| " + " | ".join(c[i].ljust(widths[i]) for i in range(4)) + " |" for c in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Shorter runs and 200,000 history rows.")
    parser.add_argument("--soak", action="store_true", help="Also figure 6 over 30 minutes of load.")
    parser.add_argument("--soak-minutes", type=float, default=30.0)
    parser.add_argument("--rows", type=int, help="Messages loaded for figure 5 (default 1,000,000).")
    parser.add_argument("--seconds", type=float, help="Length of each load run (default 10, --quick 5).")
    parser.add_argument("--fig8-seconds", type=float, default=300.0,
                        help="Length of figure 8's sustained load (default 5 minutes).")
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8,9,10,11",
                        help="Figures to run, e.g. 1,6 (9: the CPU budget of one accept, in-process; "
                             "10: one statement on the async SQLite engine, in-process; "
                             "11: the default route behind a queue, in-process).")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder (logs, database).")
    parser.add_argument("--workers", type=int, default=1,
                        help="With figure 1: also figure 1 on PostgreSQL at 1 and N processes (serve --workers N).")
    parser.add_argument("--pg-url", help="PostgreSQL server for --workers (default: scripts/postgres start).")
    args = parser.parse_args(argv)
    only = {int(x) for x in args.only.split(",") if x.strip()}
    seconds = args.seconds or (5.0 if args.quick else 10.0)
    rows = args.rows or (200_000 if args.quick else 1_000_000)
    loadgen.ensure_wrk()

    work = Path(tempfile.mkdtemp(prefix="postino-bench-"))
    data_dir = work / "data"
    logs = work / "logs"
    logs.mkdir(parents=True)
    print(f"machine: {machine()}\nworking in {work}", flush=True)
    account = services.create_account(data_dir, "bench@example.com")
    device_id = services.register_device(data_dir, account["id"], "bench phone")
    span = None
    if 5 in only:
        started = time.monotonic()
        history = services.create_account(data_dir, "history@example.com")
        history_devices = [services.register_device(data_dir, history["id"], f"history {i}") for i in range(20)]
        span = figures.load_history(data_dir, history["id"], history_devices, rows)
        print(f"figure 5: loaded {rows:,} messages in {time.monotonic() - started:.0f} s", flush=True)

    server = services.serve(data_dir, logs)
    bare = services.bare(logs)
    env = figures.Env(work, seconds, data_dir, server, account, device_id, [])
    result: list[figures.Row] = []
    try:
        if 1 in only or 6 in only:
            result += figures.accept_rate(env, bare)
            print(table(result), flush=True)
        bare.stop()
        if 1 in only and args.workers > 1:
            result += figures.accept_rate_workers(env, args.workers, services.pg_database(args.pg_url))
            print(table(result), flush=True)
        if 2 in only:
            result += figures.bulk(env)
        if 3 in only:
            result += figures.phones(env)
        if 4 in only:
            result += figures.smpp(env)
        if 5 in only and span is not None:
            result += figures.history(env, history["sg24_token"], history_devices, span)
        if 6 in only:
            result += figures.rss(env, args.soak_minutes if args.soak else 0)
        if 7 in only:
            result += campaign.figure(env)
        if 8 in only:
            result += figures.sustained(env, args.fig8_seconds)
    finally:
        server.stop()
        bare.stop()
    stages = budget.run(work / "budget") if 9 in only else []
    trips = statements.run(work / "statements") if 10 in only else []
    routed = routing.run(work / "routing") if 11 in only else []
    print()
    print(f"machine: {machine()}")
    print(f"command: {' '.join(['bench/run', *(argv if argv is not None else sys.argv[1:])])}")
    print(table(result))
    if stages:
        print("\n9. CPU budget of one durable addsms (python -m bench.budget)")
        print(budget.table(stages))
    if trips:
        print("\n10. One statement on the async SQLite engine, one trip to its thread against SQLAlchemy's "
              "adapter (python -m bench.statements)")
        print(statements.table(trips))
    if routed:
        print("\n11. Default route of one message behind a queue, CPU per plan (python -m bench.routing)")
        print(routing.table(routed))
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r.ok is not False for r in result) else 1


if __name__ == "__main__":
    raise SystemExit(main())
