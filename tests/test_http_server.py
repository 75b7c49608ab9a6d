"""The gathering transport: one socket write per loop turn, nothing lost, nothing delayed past it."""

from __future__ import annotations

import asyncio

from uvicorn.server import ServerState

from postino.cli.server import uvicorn_config
from postino.http_server import GatheringHttpToolsProtocol, GatheringTransport
from postino.settings import Settings


class Recording:
    """A transport that records what reaches it."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


async def next_turn() -> None:
    await asyncio.sleep(0)


async def test_writes_of_one_turn_reach_the_socket_as_one() -> None:
    real = Recording()
    transport = GatheringTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert real.writes == []
    assert transport.get_write_buffer_size() == len(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
    await next_turn()
    assert real.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    transport.write(b"next")
    await next_turn()
    assert real.writes[1:] == [b"next"]


async def test_close_sends_what_was_written_first_and_abort_drops_it() -> None:
    loop = asyncio.get_running_loop()
    real = Recording()
    transport = GatheringTransport(real, loop)  # type: ignore[arg-type]
    transport.write(b"last answer")
    transport.close()
    assert real.writes == [b"last answer"] and real.closed
    await next_turn()
    assert real.writes == [b"last answer"]  # the turn's flush finds nothing more

    real = Recording()
    transport = GatheringTransport(real, loop)  # type: ignore[arg-type]
    transport.write(b"never sent")
    transport.abort()
    await next_turn()
    assert real.writes == [] and real.aborted


async def test_other_calls_go_to_the_real_transport() -> None:
    real = Recording()
    transport = GatheringTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
    assert transport.is_closing() is False


async def test_pipelined_requests_on_a_real_socket_each_get_their_answer() -> None:
    """uvicorn's protocol as ``serve`` configures it, on a loopback socket: two requests sent
    in one piece get two whole answers, in order, and the connection stays open."""
    calls = []

    async def app(scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            return
        calls.append(scope["path"])
        body = scope["path"].encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    config = uvicorn_config(app, Settings(log_level="warning"))
    config.load()
    assert config.http_protocol_class is GatheringHttpToolsProtocol

    loop = asyncio.get_running_loop()
    state = ServerState()
    server = await loop.create_server(
        lambda: config.http_protocol_class(config=config, server_state=state, app_state={}),
        host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        answers = []
        for _ in range(2):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            answers.append((head.split(b"\r\n")[0], await asyncio.wait_for(reader.readexactly(length), 5)))
        assert answers == [(b"HTTP/1.1 200 OK", b"/first"), (b"HTTP/1.1 200 OK", b"/second")]
        assert calls == ["/first", "/second"]
        writer.write(b"GET /third HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200 OK")
        assert await asyncio.wait_for(reader.readexactly(6), 5) == b"/third"
        writer.close()
    finally:
        for protocol_connection in list(state.connections):
            protocol_connection.shutdown()
        server.close()
        await server.wait_closed()

