"""Where the CPU of one durable ``addsms`` goes: each stage timed alone, in-process.

``python -m bench.budget`` (and ``bench/run``'s figure 9) builds a fresh SQLite data dir
with one account and one phone, then times each stage of figure 1's request on its own,
in a loop, as the best of five rounds (the machine is noisy; the least disturbed round
is the closest to the stage's own cost). The stages are the ones an accept goes through:

- http: uvicorn's protocol (as ``serve`` configures it) reading figure 1's request and
  writing the bare app's answer, driven in-process with a transport that keeps nothing
  (so no system call: the socket's cost is what figure 1's CPU per accept adds);
- parse, auth, normalise, drafts, price, answer: the SmsGateway24 handler's steps, with
  a different recipient each time (as in figure 1, so remembered numbers do not flatter);
- write and commit: the group writer's merged work for groups of 64 accepts, then its
  COMMIT, on the writer's own SQLite connection (the median-low of 40 groups);
- hand-over: 64 concurrent no-op works through the group writer (the queue, the thread's
  wake-up, the futures settled back on the loop), each group's empty transaction included.

Then two wholes, every thread of the process counted: the handler, 64 callers at a time,
with no HTTP (what it adds to the sum of its stages is the tasks, the hand-overs and the
writer's own plumbing), and the server but the socket: Postino's app behind uvicorn's
protocol on 64 connections, with its loops and jobs running as in ``serve``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import services
from .figures import sms_body, sms_number

ROUNDS = 5
GROUP = 64


def best(fn: Callable[[int], Any], n: int, clock: Callable[[], float] = time.thread_time) -> float:
    """µs per call of ``fn(i)`` for i in range(n), the best of ROUNDS rounds (different i each round)."""
    results = []
    for r in range(ROUNDS):
        start = clock()
        for i in range(r * n, (r + 1) * n):
            fn(i)
        results.append((clock() - start) / n * 1e6)
    return min(results)


async def best_async(fn: Callable[[int], Any], n: int, clock: Callable[[], float] = time.thread_time) -> float:
    results = []
    for r in range(ROUNDS):
        start = clock()
        for i in range(r * n, (r + 1) * n):
            await fn(i)
        results.append((clock() - start) / n * 1e6)
    return min(results)


def _body(token: str, device_id: int, i: int) -> bytes:
    return sms_body(token, device_id, i).encode()


class _Transport:
    """Keeps nothing of what the protocol writes; counts the answers, and wakes whoever
    waits for a number of them (no polling: a busy wait would be counted as the server's)."""

    def __init__(self) -> None:
        self.answers = 0
        self.want = 0
        self.done: asyncio.Future[None] | None = None

    def write(self, data: bytes) -> None:
        self.answers += data.count(b"HTTP/1.1 ")
        if self.done is not None and self.answers >= self.want and not self.done.done():
            self.done.set_result(None)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...
    def close(self) -> None: ...
    def set_protocol(self, protocol: Any) -> None: ...


def _request(body: bytes) -> bytes:
    return (b"POST /getdata/addsms HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


def _connections(app: Any, n: int) -> list[tuple[Any, _Transport]]:
    """``n`` of uvicorn's protocols (as ``serve`` configures them) on transports that keep nothing."""
    from uvicorn.server import ServerState

    from postino.cli.server import uvicorn_config
    from postino.settings import Settings

    config = uvicorn_config(app, Settings(log_level="warning"))
    config.load()
    state = ServerState()
    made = []
    for _ in range(n):
        protocol = config.http_protocol_class(config=config, server_state=state, app_state={})
        transport = _Transport()
        protocol.connection_made(transport)  # type: ignore[arg-type]
        made.append((protocol, transport))
    return made


async def _answered(made: list[tuple[Any, _Transport]], want: list[int]) -> None:
    """Until each connection has written its ``want``-th answer (5 s at most)."""
    loop = asyncio.get_running_loop()
    waits = []
    for (_, transport), w in zip(made, want, strict=True):
        if transport.answers < w:
            transport.want, transport.done = w, loop.create_future()
            waits.append(transport.done)
    if waits:
        await asyncio.wait_for(asyncio.gather(*waits), 5)


async def _behind_uvicorn(app: Any, requests: list[bytes]) -> float:
    """µs per request of ``app`` behind uvicorn's protocol, 64 connections at a time (as figure 1's
    64 wrk connections: the loop's work per turn is shared by the requests of that turn)."""
    made = _connections(app, GROUP)

    async def round_(r: int) -> None:
        want = [t.answers + 1 for _, t in made]
        for k, (protocol, _) in enumerate(made):
            protocol.data_received(requests[(r * GROUP + k) % len(requests)])
        await _answered(made, want)

    return await best_async(round_, 40, time.process_time) / GROUP


async def app_stage(data_dir: Path, token: str, device_id: int) -> float:
    """The whole server but the socket: Postino's app behind uvicorn's protocol, every thread of
    the process counted (the writer's, the loops' and jobs', which run as in ``serve``)."""
    from postino.app import create_app
    from postino.settings import Settings

    app = create_app(Settings(data_dir=data_dir, log_level="warning"))
    requests = [_request(_body(token, device_id, 300_000 + i)) for i in range(GROUP * 40 * ROUNDS)]
    async with app.router.lifespan_context(app):
        return await _behind_uvicorn(app, requests)


async def http_stage(token: str, device_id: int) -> float:
    """uvicorn's work for a request and its answer, as ``serve`` sets it up, around the bare app."""
    from .bare import app

    return await _behind_uvicorn(app, [_request(_body(token, device_id, i)) for i in range(1000)])


async def stages(data_dir: Path, token: str, device_id: int) -> list[tuple[str, float]]:
    import orjson

    from postino.core.messages import messages
    from postino.db.migrate import upgrade
    from postino.dialects.sg24.orders import Orders
    from postino.dialects.sg24.params import parse
    from postino.dialects.sg24.routes import HANDLERS, _by_token_cached, answer
    from postino.settings import Settings
    from postino.wiring import new_core

    core = new_core(Settings(data_dir=data_dir, log_level="warning"))
    await upgrade(core.db)
    rows: list[tuple[str, float]] = []
    form = "application/x-www-form-urlencoded"
    whole_rounds = 40
    bodies = [_body(token, device_id, i) for i in range(30_000)]

    rows.append(("http (uvicorn: read the request, build its scope, write the answer)",
                 await http_stage(token, device_id)))
    rows.append(("parse (the url-encoded body into fields)", best(lambda i: parse("", form, bodies[i]), 5000)))
    account, credential_id = await _by_token_cached(core, token)

    async def auth(i: int) -> None:
        await _by_token_cached(core, token)

    rows.append(("auth (token to account, remembered 2 s)", await best_async(auth, 5000)))
    orders = Orders(None, account, core=core)
    rows.append(("normalise (the recipient to E.164, a new number each time)",
                 best(lambda i: orders.number(sms_number(100_000 + i)), 5000)))
    many = [parse("", form, body) for body in bodies[:30_000]]

    async def drafts(i: int) -> None:
        await Orders(None, account, core=core).drafts(many[i])

    rows.append(("drafts (fields checked, device and slot, normalise included)", await best_async(drafts, 5000)))
    made = [await Orders(None, account, core=core).drafts(p) for p in many[:GROUP * 40]]
    rows.append(("price (segments, price, first state: messages.plan)",
                 best(lambda i: messages.plan(account, made[i % len(made)]), 5000)))
    result = {"error": 0, "sms_id": 123456, "message": "Sms has been saved successfully", "sms_ids": [123456]}
    rows.append(("answer (the JSON of the answer)", best(lambda i: orjson.dumps(result), 20000)))

    # The writer's own connection, used from here while its thread is idle.
    engine = core.db.writer._engine  # type: ignore[attr-defined]
    conn = engine.connect()
    groups = [[(messages.plan(account, made[(g * GROUP + k) % len(made)]), credential_id, core.listeners.stored)
               for k in range(GROUP)] for g in range(40)]
    write_us: list[float] = []
    commit_us: list[float] = []
    for entries in groups:
        tx = conn.begin()
        t0 = time.thread_time()
        messages._accept_many(conn, entries)
        t1 = time.thread_time()
        tx.commit()
        t2 = time.thread_time()
        write_us.append((t1 - t0) / GROUP * 1e6)
        commit_us.append((t2 - t1) / GROUP * 1e6)
    conn.close()
    write_us.sort()
    commit_us.sort()
    rows.append(("write (credential check, debit, message, event and ledger rows; groups of 64)",
                 write_us[len(write_us) // 4]))
    rows.append(("commit (the group's COMMIT, per message)", commit_us[len(commit_us) // 4]))

    writer = core.db.writer

    async def handover_round(_: int) -> None:
        await asyncio.gather(*(writer.run(lambda conn: None) for _ in range(GROUP)))

    handover = await best_async(handover_round, 50, time.process_time) / GROUP
    rows.append(("hand-over (64 works to the writer's thread and back, empty transaction)", handover))

    # Recipients not used by the stages above, a different one for every call.
    sent = [parse("", form, _body(token, device_id, 100_000 + i)) for i in range(whole_rounds * ROUNDS * GROUP)]
    handler = HANDLERS["addsms"]

    async def whole_round(r: int) -> None:
        await asyncio.gather(*(answer(handler, core, sent[r * GROUP + k]) for k in range(GROUP)))

    whole = await best_async(whole_round, whole_rounds, time.process_time) / GROUP
    summed = sum(us for name, us in rows if not name.startswith(("normalise", "http")))
    rows.append(("sum of the stages above but http and normalise (in drafts)", summed))
    rows.append(("the handler whole, 64 callers at a time, no HTTP (all threads)", whole))
    await core.db.dispose()
    rows.append(("the server whole but the socket: app behind uvicorn, 64 connections (all threads)",
                 await app_stage(data_dir, token, device_id)))
    return rows


def table(rows: list[tuple[str, float]]) -> str:
    width = max(len(name) for name, _ in rows)
    lines = [f"| {'stage':<{width}} | µs per accept |", f"|{'-' * (width + 2)}|---------------|"]
    lines += [f"| {name:<{width}} | {us:>13.1f} |" for name, us in rows]
    return "\n".join(lines)


def run(data_dir: Path | None = None) -> list[tuple[str, float]]:
    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="postino-budget-")) / "data"
    account = services.create_account(data_dir, "budget@example.com")
    device_id = services.register_device(data_dir, account["id"], "budget phone")
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # the loop ``serve`` runs on
        return runner.run(stages(data_dir, account["sg24_token"], device_id))


def main() -> int:
    os.environ.setdefault("POSTINO_LOG_LEVEL", "warning")
    print(table(run()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
