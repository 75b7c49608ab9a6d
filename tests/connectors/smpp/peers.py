"""What the SMPP tests run against: the simulated SMSC as a real process, and a handler
that records what a session hands it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from postino.connectors.smpp import InboundPart, Receipt, SmppClient, SmppConfig
from tests.support import postino_command, wait_for


class Smsc:
    """``postino smsc simulate --port 0`` in its own process; its port is read from stdout."""

    def __init__(self, workdir: Path, *args: str) -> None:
        self.workdir = workdir
        self.args = list(args)
        self.log_path = workdir / "smsc-events.jsonl"
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0

    async def start(self) -> "Smsc":
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.workdir / "smsc-stderr.log", "ab") as stderr:
            self.proc = await asyncio.create_subprocess_exec(
                *postino_command("smsc", "simulate", "--port", "0", "--log", str(self.log_path), *self.args),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
            )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout=30)
        assert line.startswith(b"listening on "), (line, (self.workdir / "smsc-stderr.log").read_text())
        self.port = int(line.rsplit(b":", 1)[1])
        return self

    def config(self, **overrides: Any) -> SmppConfig:
        """A client config with test-sized timers."""
        settings: dict[str, Any] = {
            "host": "127.0.0.1", "port": self.port, "system_id": "postino", "password": "secret1",
            "reconnect_min_seconds": 0.05, "reconnect_max_seconds": 0.5, "throttle_backoff_seconds": 0.02,
            "response_timeout_seconds": 5.0,
        }
        return SmppConfig(**(settings | overrides))

    async def command(self, **command: Any) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_text().splitlines()
        found = [json.loads(line) for line in lines if line.endswith("}")]  # a line being written is skipped
        return [e for e in found if kind is None or e["event"] == kind]

    async def stop(self) -> int | None:
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc else None
        self.proc.terminate()
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout=10)
        except TimeoutError:
            self.proc.kill()
            return await self.proc.wait()


class Recorder:
    """A Handler that keeps what it is told; ``fail_receipts`` makes that many receipts fail."""

    def __init__(self) -> None:
        self.binds = 0
        self.unbinds: list[str] = []
        self.receipts: list[Receipt] = []
        self.parts: list[InboundPart] = []
        self.fail_receipts = 0
        self.hold: asyncio.Event | None = None  # while set to an unset event, receipts wait on it
        self.seen: list[Receipt] = []  # every receipt offered, stored or not

    async def bound(self) -> None:
        self.binds += 1

    async def unbound(self, reason: str) -> None:
        self.unbinds.append(reason)

    async def receipt(self, receipt: Receipt) -> None:
        self.seen.append(receipt)
        if self.hold is not None:
            await self.hold.wait()
        if self.fail_receipts > 0:
            self.fail_receipts -= 1
            raise RuntimeError("database is down")
        self.receipts.append(receipt)

    async def inbound(self, part: InboundPart) -> None:
        self.parts.append(part)


@contextlib.asynccontextmanager
async def running(client: SmppClient) -> AsyncIterator[SmppClient]:
    """``client.run`` in a task for the block; stopped (unbind) and awaited after it."""
    stop = asyncio.Event()
    task = asyncio.create_task(client.run(stop))
    try:
        yield client
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)


async def bound(client: SmppClient, timeout: float = 15.0) -> None:
    await wait_for(lambda: client.state == "bound", timeout=timeout, message="bound")
