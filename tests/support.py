"""Helpers the tests share: waiting on a condition, free ports, running Postino for real."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_for(
    check: Callable[[], Awaitable[Any]] | Callable[[], Any], *, timeout: float = 15.0, interval: float = 0.02,
    message: str = "condition",
) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")
        await asyncio.sleep(interval)


def wait_for_sync(check: Callable[[], Any], *, timeout: float = 15.0, interval: float = 0.02, message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


async def with_every_pooled_connection_held(core: Any, then: Callable[[int, Any], Awaitable[Any]]) -> list[Any]:
    """As many requests as the main pool has connections, each holding a reader, then each
    running ``then(i, unit)`` while all of them still hold theirs: the pool stays empty."""
    pool = core.db.engine.pool
    count = pool.size() + pool._max_overflow
    holding, all_held, release = 0, asyncio.Event(), asyncio.Event()

    async def request(i: int) -> Any:
        nonlocal holding
        async with core.reader() as unit:
            await unit.conn.exec_driver_sql("SELECT 1")
            holding += 1
            if holding == count:
                all_held.set()
            await release.wait()
            return await then(i, unit)

    requests = [asyncio.create_task(request(i)) for i in range(count)]
    await asyncio.wait_for(all_held.wait(), 10)
    release.set()
    return await asyncio.wait_for(asyncio.gather(*requests), 20)


def postino_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "postino.cli", *args]


def run_cli(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        postino_command(*args), env={**os.environ, **(env or {})}, capture_output=True, text=True, check=check,
        timeout=120,
    )


class ChildProcess:
    """A Postino process the tests started: its log, a crash (SIGKILL) or a clean stop."""

    proc: subprocess.Popen | None
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing — a crash (or a phone losing power)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class ServerProcess(ChildProcess):
    """``postino serve`` as a real process on a free loopback port."""

    def __init__(self, data_dir: Path, database_url: str, *extra: str, env: dict | None = None) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.extra = list(extra)
        self.env = env or {}
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "ServerProcess":
        self.launch()
        return self.wait_healthy(timeout)

    def launch(self) -> "ServerProcess":
        """Start the process without waiting (several nodes starting at once)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            postino_command(
                "serve", "--port", str(self.port), "--data-dir", str(self.data_dir),
                "--database-url", self.database_url, *self.extra,
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "POSTINO_SCHEDULER_INTERVAL": "0.2", **self.env},
        )
        return self

    def wait_healthy(self, timeout: float = 30.0) -> "ServerProcess":
        """Return once ``/health`` answers 200; fail if the process exits first."""
        assert self.proc is not None

        def healthy() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log()}")
            try:
                return httpx.get(self.url + "/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for_sync(healthy, timeout=timeout, message="server health")
        return self



class SimulatorProcess(ChildProcess):
    """``postino device simulate`` as a real process, its state file and log in ``workdir``.

    ``SimulatorProcess(server.url, account.device_registration_token, "--slots", "0,1,2",
    workdir=tmp_path).start()`` returns once every phone has registered; ``device_ids``
    are the app-side ids (``devices.ext_id``). ``kill()`` is a crash (SIGKILL), ``stop()``
    a clean shutdown; ``start()`` again reuses the saved registration.
    """

    def __init__(self, server_url: str, token: str, *extra: str, workdir: Path, env: dict | None = None) -> None:
        self.server_url = server_url
        self.token = token
        self.extra = list(extra)
        self.workdir = workdir
        self.env = env or {}
        self.state_file = workdir / "phone-state.json"
        self.log_path = workdir / "simulator.log"
        self.proc: subprocess.Popen | None = None

    @property
    def phones(self) -> int:
        if "--phones" in self.extra:
            return int(self.extra[self.extra.index("--phones") + 1])
        return 1

    def state(self) -> dict:
        import json

        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    @property
    def device_ids(self) -> list[str]:
        phones = self.state().get("phones", {})
        return [phones[k]["id"] for k in sorted(phones, key=int) if phones[k].get("id")]

    def start(self, timeout: float = 30.0) -> "SimulatorProcess":
        self.workdir.mkdir(parents=True, exist_ok=True)
        offset = len(self.log())
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            postino_command(
                "device", "simulate", "--server", self.server_url, "--token", self.token,
                "--state-file", str(self.state_file), *self.extra,
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
        )

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"simulator exited: {self.log()}")
            return self.log()[offset:].count("ready as device") >= self.phones

        wait_for_sync(ready, timeout=timeout, message="simulated phones to register")
        return self

