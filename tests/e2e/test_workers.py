"""``postino serve --workers N``: several processes on one port behave as one gateway.

- two processes answer on the one port (``/health`` carries the answering process id),
  both children of the supervisor;
- messages accepted by either process reach ``delivered`` through one simulated phone,
  whose event stream is held by one of them (wake-ups cross over PostgreSQL);
- SIGTERM to the supervisor stops every child, and it exits 0; a child that dies on its
  own makes the supervisor stop the other and exit non-zero (no silent restart);
- on SQLite ``--workers 2`` is refused with a message that points to PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import ENGINE, AccountInfo
from tests.support import ServerProcess, SimulatorProcess, run_cli, wait_for, wait_for_sync

START = 120.0
"""Seconds a process may take to come up: two children import the app at once on a busy machine."""
on_postgres = pytest.mark.skipif(
    ENGINE != "postgresql", reason="--workers needs PostgreSQL; the SQLite refusal is tested below"
)


def parent_of(pid: int) -> int | None:
    """The parent pid of a live process, None once it is gone (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else int(fields[1])


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and parent_of(int(entry.name)) == pid:
            found.add(int(entry.name))
    return found


def answering_pid(url: str) -> int:
    """The pid of the process that answers a new connection (each call opens its own)."""
    return httpx.get(url + "/health", timeout=5).json()["pid"]


def two_workers(tmp_path: Path, database_url: str) -> tuple[ServerProcess, set[int]]:
    """A supervisor with two children, once both have answered on its port."""
    server = ServerProcess(tmp_path / "node", database_url, "--workers", "2").start(timeout=START)
    seen: set[int] = set()

    def both_answered() -> bool:
        seen.add(answering_pid(server.url))
        return len(seen) == 2

    try:
        wait_for_sync(both_answered, timeout=60, message="both worker processes to answer on the one port")
        assert seen == children_of(server.proc.pid), "the answering processes are the supervisor's children"
    except BaseException:
        server.stop()
        raise
    return server, seen


def pinned_clients(url: str, pids: set[int]) -> dict[int, httpx.Client]:
    """One client per process: a client keeps one connection, and a connection stays on one process."""
    clients: dict[int, httpx.Client] = {}
    spare: list[httpx.Client] = []

    def one_per_process() -> bool:
        probe = httpx.Client(base_url=url, timeout=10, limits=httpx.Limits(max_connections=1))
        pid = probe.get("/health").json()["pid"]
        if pid in clients:
            spare.append(probe)
        else:
            clients[pid] = probe
        return set(clients) == pids

    try:
        wait_for_sync(one_per_process, timeout=60, message="a connection to each process")
    except BaseException:
        spare += clients.values()
        raise
    finally:
        for probe in spare:
            probe.close()
    return clients


@on_postgres
async def test_two_processes_answer_on_one_port_and_messages_through_either_are_delivered(
    alice: AccountInfo, database_url: str, tmp_path: Path
) -> None:
    server, pids = two_workers(tmp_path, database_url)
    clients: dict[int, httpx.Client] = {}
    phone = SimulatorProcess(server.url, alice.device_registration_token, "--latency", "10ms", "--poll-every", "600s",
                             workdir=tmp_path / "phone")
    try:
        clients = pinned_clients(server.url, pids)
        phone.start(timeout=START)
        first = next(iter(clients.values()))
        listed = first.get("/getdata/getalldevices", params={"token": alice.sg24_token}).json()
        (device,) = listed["device"].values()
        sent: dict[int, list[int]] = {}
        for pid, client in clients.items():
            for n in range(3):
                answer = client.post("/getdata/addsms", data={
                    "token": alice.sg24_token, "sendto": f"+39349123{n:04d}", "body": f"through {pid}",
                    "device_id": device["id"],
                }).json()
                assert answer["error"] == 0, answer
                assert client.get("/health").json()["pid"] == pid, "the connection stayed on its process"
                sent.setdefault(pid, []).append(answer["sms_id"])

        # The phone polls every ten minutes: each message reaches it by a wake-up, also the
        # ones accepted by the process that does not hold its event stream.
        def undelivered() -> list[int]:
            return [
                sms_id for ids in sent.values() for sms_id in ids
                if first.get("/getdata/getsmsstatus", params={"token": alice.sg24_token, "sms_id": sms_id})
                .json()["status_description"] != "delivered"
            ]

        await wait_for(lambda: not undelivered(), timeout=60, interval=0.1,
                       message="the messages accepted by both processes to be delivered")
    finally:
        for client in clients.values():
            client.close()
        phone.stop()
        server.stop()


@on_postgres
def test_sigterm_to_the_supervisor_stops_every_child(database_url: str, tmp_path: Path) -> None:
    server, pids = two_workers(tmp_path, database_url)
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    try:
        assert server.proc.wait(60) == 0, server.log()
    except subprocess.TimeoutExpired:
        server.kill()
        raise
    wait_for_sync(lambda: all(parent_of(pid) is None for pid in pids), timeout=10,
                  message="no worker process left behind")
    assert "every worker has stopped" in server.log()


@on_postgres
def test_a_child_that_dies_stops_the_others_and_the_supervisor_exits_non_zero(
    database_url: str, tmp_path: Path
) -> None:
    server, pids = two_workers(tmp_path, database_url)
    assert server.proc is not None
    victim, other = sorted(pids)
    os.kill(victim, signal.SIGKILL)
    try:
        code = server.proc.wait(60)
    except subprocess.TimeoutExpired:
        server.kill()
        raise
    assert code == 1
    wait_for_sync(lambda: parent_of(other) is None, timeout=10, message="the other worker to stop")
    log = server.log()
    assert f"(pid {victim}) exited with signal SIGKILL; stopping the others (no restart)" in log, log


def test_sqlite_refuses_several_workers_and_points_to_postgresql(tmp_path: Path) -> None:
    refused = run_cli("serve", "--workers", "2", "--data-dir", str(tmp_path / "data"), "--database-url",
                      f"sqlite:///{tmp_path / 'data' / 'postino.db'}", check=False)
    message = " ".join(refused.stderr.split())
    assert refused.returncode == 1, refused
    assert "--workers 2 needs PostgreSQL" in message and "Several processes on one machine" in message, message
    assert not (tmp_path / "data" / "postino.db").exists(), "refused before touching the database"


def test_workers_go_with_an_http_role_only(tmp_path: Path) -> None:
    refused = run_cli("serve", "--workers", "2", "--role", "worker", "--data-dir", str(tmp_path / "data"),
                      "--database-url", "postgresql://nobody@127.0.0.1:1/none", check=False)
    assert refused.returncode == 1 and "not worker" in " ".join(refused.stderr.split()), refused
    zero = run_cli("serve", "--workers", "0", "--data-dir", str(tmp_path / "data"), check=False)
    assert zero.returncode == 2 and "--workers" in zero.stderr, zero
