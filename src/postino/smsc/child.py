"""The demo's SMSC: ``serve --demo`` runs ``postino smsc simulate`` as a child process.

Like the demo phone (``simulator.child``) it stops with the server: when the server's
event loop shuts down, at exit, and by itself when the server is gone (``--parent-pid``).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import socket
import subprocess
import sys

from ..settings import Settings
from ..simulator.child import _guard, _terminate

SYSTEM_ID = "demo"
PASSWORD = "demo-pw"

_tasks: set[asyncio.Task] = set()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_demo_smsc(settings: Settings, port: int) -> subprocess.Popen:
    """Start the demo SMSC on ``port``; receipts after half a second, 95 % delivered."""
    command = [
        sys.executable, "-m", "postino.cli", "smsc", "simulate", "--port", str(port),
        "--system-id", SYSTEM_ID, "--password", PASSWORD, "--receipt-delay", "0.5", "--deliver", "0.95",
        "--log", str(settings.data_dir / "demo-smsc.jsonl"), "--parent-pid", str(os.getpid()),
    ]  # fmt: skip
    log = open(settings.data_dir / "demo-smsc.log", "ab")  # noqa: SIM115 - the child's stdout
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    atexit.register(_terminate, proc)
    task = asyncio.get_running_loop().create_task(_guard(proc), name="demo-smsc")
    _tasks.add(task)
    return proc
