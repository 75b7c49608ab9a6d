"""One socket write per answer: uvicorn's httptools protocol over a transport that gathers.

uvicorn writes an answer's head and its body with two ``transport.write`` calls, and
uvloop sends each at once, a ``send`` system call made with the interpreter's lock held.
On loopback and on a busy server that second call was the largest single cost of a small
answer after the parsing of the request (docs/benchmarks.md, the CPU budget). The
transport here keeps what is written during one turn of the event loop and sends it as
one piece at the end of that turn (``call_soon``): the head and body of an answer, and
the answers to pipelined requests, leave together. Nothing waits longer than the turn.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class GatheringTransport:
    """The real transport, with ``write`` gathered until the loop's turn ends.

    Every other call goes to the real transport; those that end or hand over the stream
    (``close``, ``set_protocol``, ``write_eof``) send what is gathered first, ``abort``
    drops it, as the real transport would.
    """

    __slots__ = ("_chunks", "_loop", "_real")

    def __init__(self, real: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._real = real
        self._loop = loop
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._chunks:
            self._loop.call_soon(self.flush)
        self._chunks.append(data)

    def writelines(self, chunks: Any) -> None:
        for data in chunks:
            self.write(data)

    def flush(self) -> None:
        chunks = self._chunks
        if not chunks:
            return
        self._chunks = []
        if self._real.is_closing():
            return
        self._real.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))

    def get_write_buffer_size(self) -> int:
        return self._real.get_write_buffer_size() + sum(map(len, self._chunks))

    def close(self) -> None:
        self.flush()
        self._real.close()

    def write_eof(self) -> None:
        self.flush()
        self._real.write_eof()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.flush()
        self._real.set_protocol(protocol)

    def abort(self) -> None:
        self._chunks = []
        self._real.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class GatheringHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, writing through a :class:`GatheringTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(GatheringTransport(transport, self.loop))  # type: ignore[arg-type]
