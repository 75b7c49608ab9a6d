"""The simulated SMSC as the tests run it: a real ``postino smsc simulate`` process."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.support import ChildProcess, postino_command, wait_for_sync


class SmscProcess(ChildProcess):
    """``SmscProcess(tmp_path, "--receipt-delay", "0.1").start()``; ``events()`` reads its log."""

    def __init__(self, workdir: Path, *extra: str, system_id: str = "postino", password: str = "secret1") -> None:
        self.workdir = workdir
        self.extra = list(extra)
        self.system_id = system_id
        self.password = password
        self.events_path = workdir / "smsc-events.jsonl"
        self.log_path = workdir / "smsc.log"
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def argv(self, port: int) -> list[str]:
        """The ``postino`` command line of this process."""
        return [
            "smsc", "simulate", "--port", str(port), "--system-id", self.system_id, "--password", self.password,
            "--log", str(self.events_path), *self.extra,
        ]  # fmt: skip

    def start(self, port: int = 0) -> "SmscProcess":
        """Start it (again, on its old port when it had one) and return once it listens."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        offset = len(self.log())  # a restart's "listening" line, not the last run's
        out = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            postino_command(*self.argv(port or self.port)),
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )

        def listening() -> int | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.argv(0)[0]} exited: {self.log()}")
            found = re.search(r"listening on [^\s:]+:(\d+)", self.log()[offset:])
            return int(found.group(1)) if found else None

        self.port = wait_for_sync(listening, timeout=20, message=f"{self.argv(0)[0]} listening")
        return self

    def command(self, **command: Any) -> None:
        """One JSON line on its stdin: ``deliver={...}`` or ``disconnect=True``."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        self.proc.stdin.flush()

    def events(self, kind: str | None = None) -> list[dict]:
        if not self.events_path.exists():
            return []
        found = []
        for line in self.events_path.read_text().splitlines():
            if line.strip():
                event = json.loads(line)
                if kind is None or event.get("event") == kind:
                    found.append(event)
        return found

    def settings(self) -> dict[str, Any]:
        """What ``connectors add smpp`` takes to reach this SMSC."""
        return {"host": "127.0.0.1", "port": self.port, "system_id": self.system_id, "password": self.password}
