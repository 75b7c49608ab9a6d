"""Several server processes on one port: the supervisor behind ``postino serve --workers N``.

One Python process runs one event loop on one core. The supervisor opens N listening
sockets on the same address with ``SO_REUSEPORT`` (the kernel spreads new connections
over them by their addresses), starts one child per socket, each an ordinary server
that serves the socket it inherited, and then only waits:

- SIGTERM or SIGINT is passed on to every child; it exits once they all have stopped
  (those still running after ``grace`` seconds are killed);
- a child that exits on its own is never restarted: the supervisor logs it, stops the
  others and exits non-zero, so a crash is seen by whatever runs the supervisor
  (systemd, a container runtime) instead of being hidden behind a half-sized server;
- a child dies with its supervisor even when the supervisor is killed with SIGKILL
  (``PR_SET_PDEATHSIG`` on Linux), so no orphan keeps the port.

The sockets are opened before any child starts, so a connection that arrives while a
child is still starting waits in that child's backlog instead of failing, and a port
already taken is reported once, by the supervisor. It imports nothing of the app: it
holds no database connection and costs a few megabytes.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger("postino.supervisor")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
WATCHED = {signal.SIGCHLD, *STOP_SIGNALS}
CLEAN_EXITS = {0, -signal.SIGTERM, -signal.SIGINT}
"""How a child may end after it was asked to stop (a signal before its handlers were set kills it)."""
PR_SET_PDEATHSIG = 1


def listening_sockets(host: str, port: int, count: int, backlog: int = 2048) -> list[socket.socket]:
    """``count`` listening TCP sockets on one address, sharing it through ``SO_REUSEPORT``.

    With ``port`` 0 the first socket picks a free port and the others take the same one.
    """
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(address)
            sock.listen(backlog)
            sock.set_inheritable(True)
            address = sock.getsockname()  # the port the first one was given, for the others
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _child_setup() -> Callable[[], None]:
    """What each child runs between fork and exec: take the supervisor's signals back, die with it.

    libc is loaded here, before any fork; the supervisor's pid is taken here too, since
    the supervisor may itself be pid 1 (in a container).
    """
    supervisor_pid = os.getpid()
    prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None

    def setup() -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
            if os.getppid() != supervisor_pid:  # it died before the line above: do not outlive it
                os._exit(1)

    return setup


@dataclass
class Child:
    """One started child: its name in the logs and its process."""

    name: str
    proc: subprocess.Popen
    reported: bool = False
    """Its exit has been looked at (``poll`` elsewhere may have reaped it first)."""


def supervise(
    commands: Sequence[Sequence[str]], sockets: Sequence[socket.socket], *,
    envs: Sequence[Mapping[str, str]] | None = None, grace: float = 15.0,
) -> int:
    """Start ``commands[i]`` with ``sockets[i]`` inherited (same fd number) and the environment
    plus ``envs[i]``, wait, return the exit status.

    0 when the children stopped because the supervisor was told to stop, 1 when one of
    them exited on its own or did not stop cleanly.
    """
    _ensure_logging()
    signal.pthread_sigmask(signal.SIG_BLOCK, WATCHED)  # taken below with sigtimedwait; unblocked in the children
    children: list[Child] = []
    failed = False
    stop_deadline: float | None = None
    try:
        extra = envs or [{} for _ in commands]
        setup = _child_setup()
        for number, (argv, sock, env) in enumerate(zip(commands, sockets, extra, strict=True), start=1):
            proc = subprocess.Popen(list(argv), pass_fds=(sock.fileno(),), env={**os.environ, **env},
                                    preexec_fn=setup, process_group=0)
            children.append(Child(f"worker {number}", proc))
        for sock in sockets:
            sock.close()  # each child holds its own: if one dies, the kernel stops sending it connections
        log.info("%d worker processes (pids %s)", len(children), ", ".join(str(c.proc.pid) for c in children))

        while any(c.proc.returncode is None for c in children):
            info = signal.sigtimedwait(WATCHED, 1.0)
            if info is not None and info.si_signo in STOP_SIGNALS:
                log.info("%s: stopping %d workers", signal.Signals(info.si_signo).name, _running(children))
                _send(children, info.si_signo)  # a second SIGINT too: uvicorn then stops at once
                stop_deadline = stop_deadline or time.monotonic() + grace
            for child in children:
                if child.reported or child.proc.poll() is None:
                    continue
                child.reported = True
                code = child.proc.returncode
                if stop_deadline is None:
                    log.error("%s (pid %d) exited with %s; stopping the others (no restart)",
                              child.name, child.proc.pid, _describe(code))
                    failed = True
                    _send(children, signal.SIGTERM)
                    stop_deadline = time.monotonic() + grace
                elif code not in CLEAN_EXITS:
                    log.error("%s (pid %d) exited with %s while stopping", child.name, child.proc.pid, _describe(code))
                    failed = True
            if stop_deadline is not None and time.monotonic() > stop_deadline:
                log.error("%d workers still running after %.0f s: killing them", _running(children), grace)
                _send(children, signal.SIGKILL)
                failed = True
                for child in children:
                    child.proc.wait()
                    child.reported = True
    finally:
        for child in children:  # only on an error of the supervisor itself: leave nothing behind
            if child.proc.poll() is None:
                child.proc.kill()
                child.proc.wait()
        while signal.sigtimedwait(WATCHED, 0) is not None:
            pass  # taken, not acted on: every child has stopped already
        signal.pthread_sigmask(signal.SIG_UNBLOCK, WATCHED)
    log.info("every worker has stopped")
    return 1 if failed else 0


def _send(children: Sequence[Child], signum: int) -> None:
    for child in children:
        if child.proc.poll() is None:
            child.proc.send_signal(signum)


def _running(children: Sequence[Child]) -> int:
    return sum(1 for c in children if c.proc.poll() is None)


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"status {code}"


def _ensure_logging() -> None:
    """The children log through uvicorn; the supervisor's few lines go to stderr in the same shape."""
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     [supervisor] %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
