"""The figures: each measures against its target and returns rows for the table."""

from __future__ import annotations

import json
import random
import sqlite3
import statistics
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from . import loadgen, services


@dataclass
class Row:
    figure: str
    measured: str
    target: str
    ok: bool | None  # None: not measured

    @property
    def verdict(self) -> str:
        return "n/a" if self.ok is None else ("pass" if self.ok else "FAIL")


@dataclass
class Env:
    """What every figure shares: durations, the temporary folder, the server, the account."""

    work: Path
    seconds: float
    data_dir: Path
    server: services.Process
    account: dict
    device_id: int
    rss: list[tuple[float, float]]


def _sms_requests(env: Env) -> Path:
    """Figure 1's requests: one addsms each to 50,000 different numbers, sent in turn.

    Different numbers, so the server's remembered phone normalisations do not make the
    figure: a number is seen again only after 49,999 others (the memory holds 16,384).
    """
    path = env.work / "addsms.requests"
    if not path.exists():
        token = env.account["sg24_token"]
        path.write_text("".join(f"POST\t/getdata/addsms\t{sms_body(token, env.device_id, i)}\n"
                                for i in range(50_000)))
    return path


def sms_number(i: int) -> str:
    """The ``i``-th of figure 1's recipients (Italian mobile numbers, all different)."""
    return f"+3934{9100000 + i:07d}"


def sms_body(token: str, device_id: int, i: int = 0) -> str:
    """Figure 1's ``addsms`` form to the ``i``-th recipient."""
    return urlencode({"token": token, "sendto": sms_number(i), "body": "Benchmark message", "device_id": device_id})


def _db(env: Env) -> sqlite3.Connection:
    return sqlite3.connect(env.data_dir / "postino.db", timeout=30)


def accept_rate(env: Env, bare: services.Process) -> list[Row]:
    """Figure 1: addsms over HTTP against the bare app, then p99 at half that rate; figure 6 (RSS) alongside."""
    requests = _sms_requests(env)
    conns = 64
    bare_cpu = bare.cpu_seconds()[0]
    bare_result = loadgen.run(bare.url + "/getdata/addsms", seconds=env.seconds, connections=conns,
                              requests_file=requests)
    bare_cpu = bare.cpu_seconds()[0] - bare_cpu
    with _db(env) as db:
        before = db.execute("SELECT count(*) FROM messages").fetchone()[0]
    env.rss.append((time.monotonic(), env.server.rss_mb()))
    cpu_before = env.server.cpu_seconds()
    full = loadgen.run(env.server.url + "/getdata/addsms", seconds=env.seconds, connections=conns,
                       requests_file=requests)
    server_cpu, loop_cpu = (after - before for after, before in zip(env.server.cpu_seconds(), cpu_before, strict=True))
    env.rss.append((time.monotonic(), env.server.rss_mb()))
    with _db(env) as db:
        stored = db.execute("SELECT count(*) FROM messages").fetchone()[0] - before
    half = full.rate / 2
    paced_conns = 16
    delay = paced_conns * 1000 / half if half else 1000
    paced = loadgen.run(env.server.url + "/getdata/addsms", seconds=env.seconds, connections=paced_conns,
                        requests_file=requests, delay_ms=delay)
    env.rss.append((time.monotonic(), env.server.rss_mb()))
    ratio = full.rate / bare_result.rate if bare_result.rate else 0
    errors = full.errors + full.non2xx
    per_accept = server_cpu / full.requests * 1e6 if full.requests else 0
    per_loop = loop_cpu / full.requests * 1e6 if full.requests else 0
    per_bare = bare_cpu / bare_result.requests * 1e6 if bare_result.requests else 0
    return [
        Row("load generator (wrk) vs bare ASGI, req/s", f"{bare_result.rate:,.0f}", "well above figure 1", None),
        Row(f"1. addsms accepted/s (stored: {stored:,}; errors {errors})",
            f"{full.rate:,.0f}/s = {ratio:.0%} of bare", ">= 40% of bare", ratio >= 0.40 and errors == 0),
        Row("1. CPU per accepted addsms (server process, all threads)",
            f"{per_accept:.0f} µs: loop {per_loop:.0f}, other threads {per_accept - per_loop:.0f} (bare app {per_bare:.0f})",
            "<= 100 µs", per_accept <= 100),
        Row(f"1. addsms p99 at half rate ({paced.rate:,.0f}/s)", f"{paced.p99_ms:.1f} ms", "<= 20 ms",
            paced.p99_ms <= 20),
    ]


def bulk(env: Env) -> list[Row]:
    """Figure 2: one addalotofsms call with 10,000 items (a raw JSON body), one at a time.

    The calls take turns over four bodies with 40,000 different numbers in all, more than
    the server remembers (16,384), so every call normalises all its numbers afresh.
    """
    token = env.account["sg24_token"]
    lines = []
    for call in range(4):
        items = [{"sendto": f"+3934{8000000 + call * 10_000 + i:07d}", "body": f"Bulk message {i}",
                  "device_id": env.device_id} for i in range(10_000)]
        lines.append("POST\t/getdata/addalotofsms\t" + json.dumps({"token": token, "smsdata": items}))
    path = env.work / "bulk.requests"
    path.write_text("\n".join(lines) + "\n")
    result = loadgen.run(env.server.url + "/getdata/addalotofsms", seconds=max(6, env.seconds), connections=1,
                         requests_file=path, content_type="application/json", timeout=30)
    ok = result.requests > 0 and result.errors == 0 and result.p50_ms <= 1000
    return [Row(f"2. addalotofsms 10,000 items ({result.requests} calls)",
                f"p50 {result.p50_ms / 1000:.2f} s, max {result.max_ms / 1000:.2f} s", "<= 1 s", ok)]


def phones(env: Env) -> list[Row]:
    """Figure 3: accept -> a simulated phone takes it; 50 phones in one process, 200 msg/s."""
    sim_dir = env.work / "phones"
    sim_dir.mkdir(exist_ok=True)
    sim = services.simulate(env.server.url, env.account["device_registration_token"], 50, sim_dir)
    try:
        def registered() -> list[int]:
            with _db(env) as db:
                return [r[0] for r in db.execute(
                    "SELECT id FROM devices WHERE account_id = ? AND id != ? ORDER BY id",
                    (env.account["id"], env.device_id))]

        services.wait_until(lambda: len(registered()) >= 50, 60, "50 simulated phones")
        time.sleep(2)  # let every phone open its event stream
        device_ids = registered()
        token = env.account["sg24_token"]
        lines = [f"POST\t/getdata/addsms\t{sms_body(token, device_ids[i % 50], i)}" for i in range(1000)]
        req_file = env.work / "phones.requests"
        req_file.write_text("\n".join(lines) + "\n")
        conns, rate = 10, 200
        with _db(env) as db:
            first_id = db.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0]
        result = loadgen.run(env.server.url + "/getdata/addsms", seconds=env.seconds, connections=conns,
                             requests_file=req_file, delay_ms=conns * 1000 / rate)
        placeholders = ",".join("?" * len(device_ids))

        def waiting() -> int:
            with _db(env) as db:
                return db.execute(
                    f"SELECT count(*) FROM messages WHERE id > ? AND state = 'queued' AND device_id IN ({placeholders})",
                    (first_id, *device_ids)).fetchone()[0]

        services.wait_until(lambda: waiting() == 0, 60, "the phones to take every message")
        with _db(env) as db:
            rows = db.execute(
                f"""SELECT q.at, min(t.at) FROM messages m
                    JOIN message_events q ON q.message_id = m.id AND q.state = 'queued'
                    JOIN message_events t ON t.message_id = m.id AND t.state IN ('assigned', 'taken')
                    WHERE m.id > ? AND m.device_id IN ({placeholders}) GROUP BY m.id""",
                (first_id, *device_ids)).fetchall()
    finally:
        sim.terminate()
        sim.wait(15)
    waits = sorted((_ts(t) - _ts(q)) * 1000 for q, t in rows)
    if not waits:
        return [Row("3. accept -> phone takes it", "no message taken", "p99 <= 100 ms", False)]
    p50, p99 = statistics.median(waits), waits[min(len(waits) - 1, int(len(waits) * 0.99))]
    return [Row(f"3. accept -> phone takes it, 50 phones, {result.rate:,.0f} msg/s ({len(waits):,} msgs)",
                f"p50 {p50:.1f} ms, p99 {p99:.1f} ms", "p99 <= 100 ms", p99 <= 100)]


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def smpp(env: Env) -> list[Row]:
    """Figure 4: submit rate over one bind (window 10) to the local SMSC, receipts included;
    4b: accept -> receipt ``delivered`` at a steady rate, through the MessaggiSMS API."""
    smsc, port = services.smsc(env.work / "logs")
    try:
        account = services.create_account(env.data_dir, "smpp@example.com")
        email = account["email"]
        services.postino("connectors", "add", "smpp", "--email", email, "--name", "bench-smsc", "--host",
                         "127.0.0.1", "--port", str(port), "--system-id", "bench", "--password", "bench1",
                         "--window", "10", data_dir=env.data_dir)  # fmt: skip
        services.postino("routes", "add", "--email", email, "--channel", "sms", "--connectors", "bench-smsc",
                         data_dir=env.data_dir)  # fmt: skip

        def bound() -> bool:
            with _db(env) as db:
                row = db.execute("SELECT state FROM connectors WHERE name = 'bench-smsc'").fetchone()
            return bool(row) and row[0] == "bound"

        services.wait_until(bound, 30, "the connector's bind")
        auth = f"Bearer {account['bearer_token']}"
        with _db(env) as db:
            first_id = db.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0]
        total = 20_000
        services.queue_for_connector(env.data_dir, account["id"], "bench-smsc", total)
        ours = "m.id > ? AND m.account_id = ?"
        args = (first_id, account["id"])

        def delivered() -> int:
            with _db(env) as db:
                return db.execute(f"SELECT count(*) FROM messages m WHERE {ours} AND state = 'delivered'",
                                  args).fetchone()[0]

        services.wait_until(lambda: delivered() >= total, 180, f"{total:,} receipts")
        with _db(env) as db:
            sent_first, sent_last = db.execute(
                f"SELECT min(e.at), max(e.at) FROM message_events e JOIN messages m ON m.id = e.message_id "
                f"WHERE {ours} AND e.state = 'sent'", args).fetchone()
            done_last = db.execute(
                f"SELECT max(e.at) FROM message_events e JOIN messages m ON m.id = e.message_id "
                f"WHERE {ours} AND e.state = 'delivered'", args).fetchone()[0]
        span = max(_ts(sent_last) - _ts(sent_first), 1e-3)
        with_receipts = max(_ts(done_last) - _ts(sent_first), 1e-3)
        rate, receipt_rate = total / span, total / with_receipts
        rows = [Row(f"4. SMPP submit rate, one bind, window 10 ({total:,} msgs)",
                    f"{rate:,.0f} msg/s submitted, {receipt_rate:,.0f} msg/s with receipts",
                    ">= 2,000 msg/s (Jasmin users report 20-600)", receipt_rate >= 2000)]

        with _db(env) as db:
            first_id = db.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0]
        lines = ["POST\t/messages/\t" + json.dumps({"sender": "Bench", "body": "Codice 654321",
                                                     "recipients": [f"+39-348{i:07d}"]}) for i in range(20_000)]
        req_file = env.work / "smpp.requests"
        req_file.write_text("\n".join(lines) + "\n")
        conns, target_rate = 10, 500
        result = loadgen.run(env.server.url + "/messages/", seconds=env.seconds, connections=conns,
                             requests_file=req_file, content_type="application/json", authorization=auth,
                             delay_ms=conns * 1000 / target_rate)
        accepted = result.requests - result.non2xx
        args = (first_id, account["id"])
        services.wait_until(lambda: delivered() >= accepted, 120, "the steady run's receipts")
        with _db(env) as db:
            rows_at = db.execute(f"SELECT created_at, delivered_at FROM messages m WHERE {ours} "
                                 f"AND state = 'delivered'", args).fetchall()
        waits = sorted((_ts(d) - _ts(c)) * 1000 for c, d in rows_at)
        p50, p99 = statistics.median(waits), waits[min(len(waits) - 1, int(len(waits) * 0.99))]
        rows.append(Row(f"4b. MessaggiSMS accept -> receipt delivered, {result.rate:,.0f} msg/s ({len(waits):,} msgs)",
                        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms", "p99 <= 250 ms", p99 <= 250))
        return rows
    finally:
        smsc.terminate()
        smsc.wait(15)


STATES = (("delivered", 60), ("sent", 20), ("failed", 10), ("queued", 5), ("received", 5))


def load_history(data_dir: Path, account_id: int, device_ids: list[int], rows: int) -> tuple[datetime, datetime]:
    """Write ``rows`` messages straight into the table (spread over a year); the server is not running."""
    rnd = random.Random(7)
    states = [s for s, w in STATES for _ in range(w)]
    end = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    start = end - timedelta(days=365)
    step = (end - start).total_seconds() / rows
    db = sqlite3.connect(data_dir / "postino.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")

    def batch(lo: int, hi: int):
        for i in range(lo, hi):
            at = (start + timedelta(seconds=i * step)).strftime("%Y-%m-%d %H:%M:%S.%f")
            state = states[rnd.randrange(len(states))]
            phone = f"+39347{rnd.randrange(50_000):07d}"
            yield (account_id, "in" if state == "received" else "out", "sms", device_ids[i % len(device_ids)],
                   i % 2, phone, phone, "", "History message", "gsm", 1, state, 0, 1.0, 0,
                   f"cust-{rnd.randrange(2000)}", 450, "sms", 0, at, at)

    sql = """INSERT INTO messages (account_id, direction, channel, device_id, slot, recipient, recipient_raw,
             sender, body, encoding, segments, state, urgent, priority, attempts, customer_id, price, product,
             seq, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"""
    for lo in range(0, rows, 100_000):
        with db:
            db.executemany(sql, batch(lo, min(rows, lo + 100_000)))
    db.execute("ANALYZE")
    db.close()
    return start, end


def history(env: Env, token: str, device_ids: list[int], span: tuple[datetime, datetime]) -> list[Row]:
    """Figure 5: getallsms with filters over the loaded history."""
    start, end = span
    rnd = random.Random(11)
    paths = []
    for i in range(200):
        day = start + timedelta(days=rnd.randrange(360))
        week = (day.strftime("%Y-%m-%d"), (day + timedelta(days=7)).strftime("%Y-%m-%d"))
        choice = i % 5
        if choice == 0:
            q = {"device_id": rnd.choice(device_ids), "status": 7, "begindate": week[0], "enddate": week[1]}
        elif choice == 1:
            q = {"phone": f"+39347{rnd.randrange(50_000):07d}"}
        elif choice == 2:
            q = {"customerid": f"cust-{rnd.randrange(2000)}", "limit": 100}
        elif choice == 3:
            q = {"status": 9, "sim": 1, "begindate": week[0], "enddate": week[1], "onlycount": 1}
        else:
            q = {"begindate": week[0], "enddate": week[0], "orderbydesc": 1, "limit": 100}
        paths.append("GET\t/getdata/getallsms?" + urlencode({"token": token, **q}) + "\t")
    req_file = env.work / "history.requests"
    req_file.write_text("\n".join(paths) + "\n")
    result = loadgen.run(env.server.url + "/getdata/getallsms", seconds=env.seconds, connections=4,
                         requests_file=req_file, method="GET")
    return [Row(f"5. getallsms with filters, {result.rate:,.0f} req/s",
                f"p95 {result.p95_ms:.1f} ms (p50 {result.p50_ms:.1f})", "p95 <= 50 ms",
                result.p95_ms <= 50 and result.errors == 0)]


def rss(env: Env, soak_minutes: float) -> list[Row]:
    """Figure 6: the server's RSS under figure 1's load; with ``--soak``, after ``soak_minutes`` of it."""
    rows = []
    if env.rss:
        values = [mb for _, mb in env.rss]
        growth = values[-1] - values[0]
        rows.append(Row("6. server RSS under figure 1's load", f"{max(values):.0f} MB (change {growth:+.0f} MB)",
                        "<= 200 MB and flat", max(values) <= 200 and growth <= 20))
    if soak_minutes:
        requests = _sms_requests(env)
        probe = loadgen.run(env.server.url + "/getdata/addsms", seconds=5, connections=64, requests_file=requests)
        delay = 16 * 1000 / (probe.rate / 2)
        samples = []
        wal_mb = []
        deadline = time.monotonic() + soak_minutes * 60
        with WalPeak(env.data_dir) as wal:
            while time.monotonic() < deadline:
                loadgen.run(env.server.url + "/getdata/addsms", seconds=60, connections=16, requests_file=requests,
                            delay_ms=delay)
                samples.append(env.server.rss_mb())
                wal_mb.append(wal.take())
        tenth = max(1, len(samples) // 3)
        growth = max(samples[-tenth:]) - min(samples[:tenth])
        rows.append(Row(f"6. server RSS after {soak_minutes:.0f} min at half rate",
                        f"{max(samples):.0f} MB (last third vs first: {growth:+.0f} MB)", "<= 200 MB and flat",
                        max(samples) <= 200 and growth <= 20))
        rows.append(Row(f"6. max WAL over the {soak_minutes:.0f} min (largest of each minute: "
                        f"first {wal_mb[0]:.0f}, last {wal_mb[-1]:.0f} MB)", f"{max(wal_mb):.0f} MB", "<= 128 MB",
                        max(wal_mb) <= 128))
    return rows


@dataclass
class Interval:
    """One sampling interval of figure 8."""

    at_s: float
    rate: float
    p99_ms: float
    max_ms: float
    wal_mb: float
    db_mb: float
    errors: int
    stalls: Stalls


@dataclass(frozen=True)
class Stalls:
    """What the server's /metrics counted in one interval: its commit groups, WAL restarts, collections."""

    groups: int
    group_ms: float  # mean
    slow_groups: int  # over 20 ms
    cpu_share: float  # the writer thread's CPU in its groups over their time
    restarts: int
    restart_ms: float  # mean hold
    full_collections: int
    full_collection_ms: float  # mean


def _scrape(url: str) -> dict[str, float]:
    import urllib.request

    with urllib.request.urlopen(url + "/metrics", timeout=30) as answer:
        text = answer.read().decode()
    return {ln.rsplit(" ", 1)[0]: float(ln.rsplit(" ", 1)[1]) for ln in text.splitlines() if ln and ln[0] != "#"}


def stalls(before: dict[str, float], after: dict[str, float]) -> Stalls:
    def d(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    groups = d("postino_writer_group_seconds_count")
    restarts = d("postino_wal_restart_hold_seconds_count")
    full = d('postino_gc_pause_seconds_count{generation="2"}')
    group_s = d("postino_writer_group_seconds_sum")
    return Stalls(
        int(groups), group_s / groups * 1000 if groups else 0.0,
        int(groups - d('postino_writer_group_seconds_bucket{le="0.02"}')),
        d("postino_writer_group_cpu_seconds_total") / group_s if group_s else 0.0,
        int(restarts), d("postino_wal_restart_hold_seconds_sum") / restarts * 1000 if restarts else 0.0,
        int(full), d('postino_gc_pause_seconds_sum{generation="2"}') / full * 1000 if full else 0.0,
    )


def _mb(path: Path) -> float:
    try:
        return path.stat().st_size / 1e6
    except FileNotFoundError:
        return 0.0


class WalPeak:
    """The WAL file's largest size between two ``take()`` calls, sampled every half second
    by a thread, so a peak inside a load run counts too."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "postino.db-wal"
        self.peak = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="wal-peak", daemon=True)

    def __enter__(self) -> WalPeak:
        self.take()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(2)

    def _watch(self) -> None:
        while not self._done.wait(0.5):
            self.peak = max(self.peak, _mb(self.path))

    def take(self) -> float:
        """The largest size (MB) since the last call; the next count starts from now."""
        now = _mb(self.path)
        peak, self.peak = max(self.peak, now), now
        return peak


def sustained(env: Env, seconds: float, every: float = 5.0, share: float = 0.8) -> list[Row]:
    """Figure 8: addsms at ``share`` of the rate measured just before, for ``seconds``.

    The load is offered on a fixed schedule (``loadgen.run(rate=...)``), in back-to-back
    runs of ``every`` seconds so that each interval has its own p99; the WAL file's size
    is sampled in between and between samples by a thread, so a peak inside an interval
    counts too. Prints the table of intervals as it goes.
    """
    requests = _sms_requests(env)
    url = env.server.url + "/getdata/addsms"
    db = env.data_dir / "postino.db"
    probe = loadgen.run(url, seconds=env.seconds, connections=64, requests_file=requests)
    offered = probe.rate * share
    intervals: list[Interval] = []
    started = time.monotonic()
    print(f"figure 8: {probe.rate:,.0f}/s saturated; offering {offered:,.0f}/s for {seconds:.0f} s", flush=True)
    print(f"{'t (s)':>6} {'req/s':>7} {'p99 ms':>7} {'max ms':>7} {'WAL MB':>7} {'db MB':>7} | "
          f"{'groups':>6} {'mean ms':>7} {'>20 ms':>6} {'CPU':>4} | {'WAL restarts':>12} {'mean ms':>7} | "
          f"{'full gc':>7} {'mean ms':>7}", flush=True)
    with WalPeak(env.data_dir) as wal:
        scraped = _scrape(env.server.url)
        while time.monotonic() - started < seconds:
            wal.take()
            r = loadgen.run(url, seconds=every, connections=64, requests_file=requests, rate=offered)
            now = _scrape(env.server.url)
            iv = Interval(time.monotonic() - started, r.rate, r.p99_ms, r.max_ms, wal.take(), _mb(db),
                          r.errors + r.non2xx, stalls(scraped, now))
            scraped = now
            intervals.append(iv)
            st = iv.stalls
            print(f"{iv.at_s:6.0f} {iv.rate:7,.0f} {iv.p99_ms:7.1f} {iv.max_ms:7.1f} {iv.wal_mb:7.1f} {iv.db_mb:7.1f} | "
                  f"{st.groups:6d} {st.group_ms:7.1f} {st.slow_groups:6d} {st.cpu_share:4.0%} | {st.restarts:12d} "
                  f"{st.restart_ms:7.1f} | {st.full_collections:7d} {st.full_collection_ms:7.1f}", flush=True)
    if not intervals:
        return [Row("8. sustained addsms", "no interval ran", "WAL <= 128 MB, p99 <= 20 ms", False)]
    worst = max(intervals, key=lambda iv: iv.p99_ms)
    wal_max = max(iv.wal_mb for iv in intervals)
    achieved = statistics.mean(iv.rate for iv in intervals)
    errors = sum(iv.errors for iv in intervals)
    minutes = (time.monotonic() - started) / 60
    head = (f"8. addsms {minutes:.1f} min at {share:.0%} of {probe.rate:,.0f}/s (offered {offered:,.0f}/s, "
            f"achieved {achieved:,.0f}/s; errors {errors})")
    return [
        Row(head + ": max WAL", f"{wal_max:.0f} MB (db {intervals[-1].db_mb:.0f} MB at the end)", "<= 128 MB",
            wal_max <= 128 and errors == 0),
        Row(f"8. worst {every:.0f}-s p99 of {len(intervals)} "
            f"(median {statistics.median(iv.p99_ms for iv in intervals):.1f} ms)",
            f"{worst.p99_ms:.1f} ms at {worst.at_s:.0f} s", "<= 20 ms", worst.p99_ms <= 20),
        Row("8. stalls a interval, the worst tenth of p99s / the rest", _compare_stalls(intervals), "what differs", None),
    ]


def _compare_stalls(intervals: list[Interval]) -> str:
    """Mean group time, slow groups, restarts and full collections of the worst intervals beside the others'."""
    ranked = sorted(intervals, key=lambda iv: -iv.p99_ms)
    cut = max(1, len(ranked) // 10)
    worst, rest = ranked[:cut], ranked[cut:] or ranked[:cut]

    def mean(ivs: list[Interval], key) -> float:  # noqa: ANN001
        return statistics.mean(key(iv.stalls) for iv in ivs)

    parts = [("group ms", lambda st: st.group_ms, ".1f"), ("groups > 20 ms", lambda st: st.slow_groups, ".1f"),
             ("writer CPU", lambda st: st.cpu_share * 100, ".0f"), ("restarts", lambda st: st.restarts, ".1f"),
             ("restart ms", lambda st: st.restart_ms, ".1f"), ("full gc", lambda st: st.full_collections, ".1f")]
    return "; ".join(f"{name} {mean(worst, key):{fmt}} / {mean(rest, key):{fmt}}" for name, key, fmt in parts)


def accept_rate_workers(env: Env, workers: int, database_url: str) -> list[Row]:
    """Figure 1 on PostgreSQL at 1 and ``workers`` processes (``serve --workers``), each rate
    against the bare app served with as many processes by the same supervisor, in turn."""
    data_dir = env.work / "pg-data"
    account, device_id = services.pg_account(data_dir, database_url, "workers@example.com")
    path = env.work / "addsms-pg.requests"
    path.write_text("".join(f"POST\t/getdata/addsms\t{sms_body(account['sg24_token'], device_id, i)}\n"
                            for i in range(50_000)))
    logs = env.work / "logs"
    conns = 64
    rows: list[Row] = []
    rates: dict[int, tuple[float, float]] = {}
    for n in (1, workers):
        bare = services.bare(logs) if n == 1 else services.bare_workers(logs, n)
        try:
            bare_result = loadgen.run(bare.url + "/getdata/addsms", seconds=env.seconds, connections=conns,
                                      requests_file=path)
        finally:
            bare.stop()
        server = services.serve_workers(data_dir, logs, database_url, n)
        try:
            before = services.pg_count_messages(database_url)
            full = loadgen.run(server.url + "/getdata/addsms", seconds=env.seconds, connections=conns,
                               requests_file=path)
            stored = services.pg_count_messages(database_url) - before
        finally:
            server.stop()
        ratio = full.rate / bare_result.rate if bare_result.rate else 0
        errors = full.errors + full.non2xx
        rates[n] = (full.rate, bare_result.rate)
        label = f"{n} worker{'s' if n > 1 else ''}"
        rows += [
            Row(f"1w. bare ASGI, {label}, req/s", f"{bare_result.rate:,.0f}", "well above figure 1", None),
            Row(f"1w. addsms accepted/s, PostgreSQL, {label} (stored: {stored:,}; errors {errors})",
                f"{full.rate:,.0f}/s = {ratio:.0%} of bare at {n}", ">= 40% of bare", ratio >= 0.40 and errors == 0),
        ]
    (one, bare_one), (many, bare_many) = rates[1], rates[workers]
    rows.append(Row(f"1w. {workers} workers against 1, PostgreSQL",
                    f"Postino x{many / one:.2f}, bare x{bare_many / bare_one:.2f}" if one and bare_one else "n/a",
                    "n/a", None))
    return rows
