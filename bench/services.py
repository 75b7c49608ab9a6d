"""What the figures run against: a data folder, an account, ``postino serve``, the bare app, phones."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def _cpu(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Process:
    """A child process on a free loopback port, its output in ``log``."""

    def __init__(self, argv: list[str], log: Path, port: int, health: str, env: dict | None = None) -> None:
        self.port = port
        self.log = log
        self.proc = subprocess.Popen(
            argv, stdout=open(log, "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115 - lives with the child
            env={**os.environ, **(env or {})},
        )
        wait_until(lambda: self._alive() and _answers(self.url + health), 60, f"{argv[2:4]} to answer")

    def _alive(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"process exited: {self.log.read_text(errors='replace')[-2000:]}")
        return True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def cpu_seconds(self) -> tuple[float, float]:
        """User and system CPU so far (``/proc``): the whole process, and its main thread (the event loop's)."""
        return _cpu(Path(f"/proc/{self.proc.pid}/stat")), _cpu(Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/stat"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def postino(*args: str, data_dir: Path) -> str:
    return subprocess.run(
        [PYTHON, "-m", "postino.cli", *args, "--data-dir", str(data_dir)],
        check=True, capture_output=True, text=True,
    ).stdout


def create_account(data_dir: Path, email: str) -> dict:
    return json.loads(
        postino("accounts", "create", "--email", email, "--password", "bench-pass-1", "--country", "IT", "--json",
                data_dir=data_dir)
    )


def register_device(data_dir: Path, account_id: int, name: str) -> int:
    """A phone of the account, registered straight through core (figure 1 needs no live phone)."""
    from postino.core.devices import devices
    from postino.core.service import Core
    from postino.settings import Settings

    async def work() -> int:
        core = Core(Settings(data_dir=data_dir))
        try:
            async with core.unit() as unit:
                device, _token = await devices.register(unit, account_id, name=name)
            return device.id
        finally:
            await core.db.dispose()

    return asyncio.run(work())


def serve(data_dir: Path, logs: Path) -> Process:
    port = free_port()
    return Process(
        [PYTHON, "-m", "postino.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        logs / f"serve-{port}.log", port, "/health",
        # figure 4's SMSC listens on loopback: the operator allows it, as one allows a carrier's private network
        env={"POSTINO_LOG_LEVEL": "warning", "POSTINO_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8"},
    )


def bare(logs: Path) -> Process:
    port = free_port()
    return Process([PYTHON, "-m", "bench.bare", str(port)], logs / f"bare-{port}.log", port, "/")


def simulate(server_url: str, token: str, phones: int, workdir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [PYTHON, "-m", "postino.cli", "device", "simulate", "--server", server_url, "--token", token,
         "--phones", str(phones), "--state-file", str(workdir / "phones.json"), "--latency", "0",
         "--poll-every", "30s"],
        stdout=open(workdir / "simulator.log", "ab"), stderr=subprocess.STDOUT,
    )


def smsc(logs: Path) -> tuple[subprocess.Popen, int]:
    """``postino smsc simulate`` on a free port: immediate receipts, every message delivered."""
    log_path = logs / "smsc.log"
    out = open(log_path, "ab")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(
        [PYTHON, "-m", "postino.cli", "smsc", "simulate", "--port", "0", "--system-id", "bench", "--password", "bench1"],
        stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    found: list[int] = []

    def listening() -> bool:
        for line in log_path.read_text().splitlines():
            if line.startswith("listening on "):
                found.append(int(line.rsplit(":", 1)[1]))
                return True
        return False

    wait_until(listening, 20, "the SMSC simulator")
    return proc, found[0]


def queue_for_connector(data_dir: Path, account_id: int, connector_name: str, count: int) -> None:
    """``count`` messages queued for a connector in one transaction, straight through core:
    figure 4 measures the connector, not an API's accept path."""
    from postino.core.accounts import accounts
    from postino.core.messages import messages
    from postino.core.routing import connectors
    from postino.core.service import Core
    from postino.settings import Settings

    async def work() -> None:
        core = Core(Settings(data_dir=data_dir))
        try:
            async with core.unit() as unit:
                account = await accounts.get(unit, account_id)
                record = await connectors.by_name(unit, account_id, connector_name)
                drafts = [messages.Draft(recipient=f"+39347{i:07d}", body="Codice 123456", sender="Bench",
                                         connector_id=record.id) for i in range(count)]
                await messages.submit(unit, account, drafts)
        finally:
            await core.db.dispose()

    asyncio.run(work())


# --- figure 1 at several workers, on PostgreSQL (``serve --workers N``) ---------------------------


def bare_workers(logs: Path, workers: int) -> Process:
    """The bare app as ``workers`` processes on one port, through the same supervisor as ``serve --workers``."""
    port = free_port()
    return Process([PYTHON, "-m", "bench.bare", str(port), "--workers", str(workers)],
                   logs / f"bare-{port}-w{workers}.log", port, "/")


def serve_workers(data_dir: Path, logs: Path, database_url: str, workers: int) -> Process:
    """``postino serve --workers N`` on PostgreSQL (N = 1: the plain single process)."""
    port = free_port()
    return Process(
        [PYTHON, "-m", "postino.cli", "serve", "--port", str(port), "--data-dir", str(data_dir),
         "--database-url", database_url, "--workers", str(workers)],
        logs / f"serve-{port}-w{workers}.log", port, "/health",
        env={"POSTINO_LOG_LEVEL": "warning"},
    )


def pg_database(server_url: str | None) -> str:
    """A new empty database on ``server_url`` (default: ``scripts/postgres start``'s server)."""
    import uuid

    if not server_url:
        root = Path(__file__).resolve().parent.parent
        server_url = subprocess.run([str(root / "scripts" / "postgres"), "start"], check=True, capture_output=True,
                                    text=True).stdout.strip()
    name = f"postino_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_execute(server_url, f'CREATE DATABASE "{name}"'))
    return server_url.rsplit("/", 1)[0] + "/" + name


async def _pg_execute(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def pg_count_messages(database_url: str) -> int:
    import asyncpg

    async def count() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetchval("SELECT count(*) FROM messages")
        finally:
            await conn.close()

    return asyncio.run(count())


def pg_account(data_dir: Path, database_url: str, email: str) -> tuple[dict, int]:
    """An account and a registered phone of it in the PostgreSQL database (migrated by the first call)."""
    from postino.core.devices import devices
    from postino.core.service import Core
    from postino.settings import Settings

    account = json.loads(postino("accounts", "create", "--email", email, "--password", "bench-pass-1", "--country",
                                 "IT", "--json", "--database-url", database_url, data_dir=data_dir))

    async def work() -> int:
        core = Core(Settings(data_dir=data_dir, database_url=database_url))
        try:
            async with core.unit() as unit:
                device, _token = await devices.register(unit, account["id"], name="bench phone")
            return device.id
        finally:
            await core.db.dispose()

    return account, asyncio.run(work())
