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
        logs / f"serve-{port}.log", port, "/health", env={"POSTINO_LOG_LEVEL": "warning"},
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
