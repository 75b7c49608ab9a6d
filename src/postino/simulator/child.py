"""The demo's phone: ``serve --demo`` runs one simulated phone as a child process.

The child is stopped with the server three ways, so it never outlives it: a task that
terminates it when the server's event loop shuts down, an ``atexit`` hook, and the
child's own watch on its parent (``--parent-pid``) for a server killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from types import FrameType

from ..settings import Settings


def _loopback_url(settings: Settings) -> str:
    scheme = "https" if settings.tls_cert else "http"
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{scheme}://{host}:{settings.port}"


def _terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


def _stop_first_on_signals(proc: subprocess.Popen) -> None:
    """On SIGTERM/SIGINT stop the phone before the server drains connections.

    Its open event stream would otherwise hold the server's graceful shutdown until the
    drain timeout. The server's own handler still runs right after.
    """
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(signum: int, frame: FrameType | None, previous: Callable = previous) -> None:
            if proc.poll() is None:
                proc.terminate()
            previous(signum, frame)

        signal.signal(sig, handler)


async def _guard(proc: subprocess.Popen) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        _terminate(proc)


def start_demo_phone(settings: Settings, token: str) -> subprocess.Popen:
    """Start the demo phone against this server; it registers once the server listens."""
    command = [
        sys.executable, "-m", "postino.cli", "device", "simulate",
        "--server", _loopback_url(settings),
        "--token", token,
        "--state-file", str(settings.data_dir / "demo-phone.json"),
        "--name", "demo-phone",
        "--slots", "0,1,2",  # two SIMs and WhatsApp Business, so every dialect can be tried
        "--parent-pid", str(os.getpid()),
        "--poll-every", "2s",
    ]
    if settings.tls_cert:
        command.append("--insecure")  # its own server over loopback
    log = open(settings.data_dir / "demo-phone.log", "ab")  # noqa: SIM115 - the child's stdout
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    atexit.register(_terminate, proc)
    _stop_first_on_signals(proc)
    task = asyncio.get_running_loop().create_task(_guard(proc), name="demo-phone")
    _tasks.add(task)
    print(f"  simulated phone:           pid {proc.pid}, log {settings.data_dir / 'demo-phone.log'}\n", flush=True)
    return proc


_tasks: set[asyncio.Task] = set()
