"""Running simulated phones: several in one process, one HTTP client each, one state file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import ssl

import httpx

from .options import Options
from .phone import SimulatedPhone, log
from .sentlog import SentLog
from .state import StateFile


def _verify(options: Options) -> bool | ssl.SSLContext:
    """One TLS context for every phone's client (building one per client is slow)."""
    if options.insecure:
        return False
    if options.ca_cert:
        return ssl.create_default_context(cafile=str(options.ca_cert))
    return httpx.create_ssl_context()


async def _watch_parent(parent_pid: int, stop: asyncio.Event) -> None:
    """Stop when the process that started us is gone (``serve --demo`` killed hard)."""
    while not stop.is_set():
        if os.getppid() != parent_pid:
            log("[simulator]", "parent process gone: stopping")
            stop.set()
            return
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except asyncio.TimeoutError:
            pass


async def _flush(state: StateFile, stop: asyncio.Event) -> None:
    while not stop.is_set():
        state.save_if_dirty()
        try:
            await asyncio.wait_for(stop.wait(), timeout=0.2)
        except asyncio.TimeoutError:
            pass


def client_for(verify: bool | ssl.SSLContext) -> httpx.AsyncClient:
    """One phone's own client: its event stream, a pull, a report and an inbound post at most.

    A client per phone keeps each connection pool a handful of connections; one pool shared by
    many phones is scanned in full for every request, which costs more than the request.
    """
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=4)
    return httpx.AsyncClient(timeout=httpx.Timeout(15.0), verify=verify, limits=limits)


async def simulate(options: Options, stop: asyncio.Event | None = None) -> int:
    """Run the phones until ``stop`` (or SIGTERM/SIGINT); 2 when the token was refused."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    state = StateFile(options.state_file)
    sent_log = SentLog(options.sent_log) if options.sent_log else None
    verify = _verify(options)
    async with contextlib.AsyncExitStack() as clients:
        phones = [
            SimulatedPhone(i, options, state, await clients.enter_async_context(client_for(verify)), sent_log)
            for i in range(options.phones)
        ]
        log("[simulator]", f"{options.phones} phone(s) for {options.api}, state in {options.state_file}")
        tasks = [asyncio.create_task(p.run(stop)) for p in phones]
        tasks.append(asyncio.create_task(_flush(state, stop)))
        if options.parent_pid:
            tasks.append(asyncio.create_task(_watch_parent(options.parent_pid, stop)))
        await stop.wait()
        await asyncio.gather(*tasks, return_exceptions=True)
    state.save()
    if sent_log is not None:
        sent_log.close()
    log("[simulator]", "stopped")
    return 2 if any(p.fatal for p in phones) else 0


def run(options: Options) -> int:
    return asyncio.run(simulate(options))
