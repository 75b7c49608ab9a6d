"""Webhook fixtures: fast retries, and a real receiver process on a loopback port."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from postino.settings import Settings
from ..support import free_port, wait_for_sync

RECEIVER = Path(__file__).with_name("receiver.py")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Retries in tens of milliseconds instead of seconds."""
    return settings.model_copy(update={"webhook_backoff_base": 0.05, "webhook_timeout": 3.0})


class Receiver:
    def __init__(self, workdir: Path, tls_cert: Path | None = None) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.tls_cert = tls_cert
        self.port = free_port()
        self.log_path = workdir / "requests.jsonl"
        self.control_path = workdir / "control.json"
        self.control({})
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls_cert else 'http'}://127.0.0.1:{self.port}"

    def control(self, rules: dict) -> None:
        tmp = self.control_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(rules))
        tmp.replace(self.control_path)  # atomic: the receiver never reads half a file

    def start(self) -> "Receiver":
        self.proc = subprocess.Popen(
            [sys.executable, str(RECEIVER), "--port", str(self.port), "--log", str(self.log_path),
             "--control", str(self.control_path), *(["--tls-cert", str(self.tls_cert)] if self.tls_cert else [])],
        )

        def listening() -> bool:
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", self.port)) == 0

        wait_for_sync(listening, timeout=10, message="receiver listening")
        return self

    def requests(self) -> list[dict]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]

    def acknowledged(self) -> list[dict]:
        return [r for r in self.requests() if r["status"] < 300]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    r = Receiver(tmp_path / "receiver").start()
    yield r
    r.stop()
