"""An SMPP 3.4 transceiver session: bind, keepalive, the submit window, deliver_sm in.

smpp34 ships a client, but it answers deliver_sm by itself; Postino must store a receipt
or an inbound message *before* it answers deliver_sm_resp, or a crash between the two
loses it. So the session is written here over asyncio streams, and smpp34 only encodes
and decodes submit_sm / deliver_sm.

Per PDU the hot path is one future and one dict entry: responses are matched by sequence
number, writes made in one turn of the loop leave in one system call, and a single timer
task per connection finds any response overdue (outstanding requests are kept in send
order, so only the oldest is looked at).
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from aiolimiter import AsyncLimiter

from . import addresses, pdu, receipts, text
from .pdu import Frame
from .receipts import Receipt
from .text import Concat

log = logging.getLogger("postino.connectors.smpp")

State = Literal["down", "binding", "bound"]
THROTTLING = frozenset({pdu.ESME_RTHROTTLED, pdu.ESME_RMSGQFUL})
MAX_THROTTLE_BACKOFF = 30.0
# esm_class message types that carry a receipt (SMSC delivery receipt, intermediate notification).
RECEIPT_TYPES = frozenset({0x04, 0x20})
UNBOUND_BY_PEER = "unbound by the SMSC"


@dataclass(frozen=True)
class SmppConfig:
    host: str
    port: int
    system_id: str
    password: str = field(repr=False)
    system_type: str = ""
    window: int = 10
    tps: float | None = None
    tls: bool = False
    source_ton: int | None = None
    source_npi: int | None = None
    enquire_link_seconds: float = 30.0
    response_timeout_seconds: float = 10.0
    reconnect_min_seconds: float = 0.5
    reconnect_max_seconds: float = 30.0
    throttle_backoff_seconds: float = 1.0
    throttle_deadline_seconds: float = 120.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)  # else the default one


@dataclass(frozen=True)
class Outgoing:
    destination: str  # E.164
    text: str
    sender: str
    force_unicode: bool = False
    registered_delivery: int = 1
    reference: int = field(kw_only=True)  # the UDH concatenation reference (mod 256)


@dataclass(frozen=True)
class InboundPart:
    """One deliver_sm that is not a receipt; a long message arrives as several."""

    source: str  # "+39…" when the SMSC says international
    destination: str
    text: str
    concat: Concat | None
    source_ton: int
    source_npi: int
    data_coding: int


class Handler(Protocol):
    """What the core side does with a session's events. ``receipt`` and ``inbound`` are
    awaited before deliver_sm_resp is sent; if they raise, the SMSC is told to retry."""

    async def bound(self) -> None: ...
    async def unbound(self, reason: str) -> None: ...
    async def receipt(self, receipt: Receipt) -> None: ...
    async def inbound(self, part: InboundPart) -> None: ...


class SubmitError(Exception):
    """A message was not (wholly) submitted; ``accepted`` holds the ids of the parts that were."""

    def __init__(self, message: str, accepted: list[str] | None = None) -> None:
        super().__init__(message)
        self.accepted: list[str] = accepted or []


class NotBound(SubmitError):
    """No bind, or it dropped before a part was answered; that part may or may not have
    reached the SMSC. Parts in ``accepted`` were answered and must not be sent again."""


class Throttled(SubmitError):
    """The SMSC kept answering ESME_RTHROTTLED / ESME_RMSGQFUL past the deadline."""


class Rejected(SubmitError):
    """The SMSC (or a check before sending) refused a part with a non-zero status."""

    def __init__(self, status: int, detail: str = "", accepted: list[str] | None = None) -> None:
        self.status = status
        self.name = pdu.status_name(status)
        super().__init__(f"{self.name}{': ' + detail if detail else ''}", accepted)


class BindRefused(Exception):
    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(f"bind refused: {pdu.status_name(status)}")


class _Link:
    """One connection: its writer, sequence numbers and outstanding requests."""

    __slots__ = ("writer", "output", "write", "loop", "pending", "seq", "closed")

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.output = pdu.Output(writer)
        self.write = self.output.write
        self.loop = asyncio.get_running_loop()
        # sequence number -> (future, or None when nobody waits; time sent), in send order
        self.pending: dict[int, tuple[asyncio.Future[Frame] | None, float]] = {}
        self.seq = 0
        self.closed = False

    def next_seq(self) -> int:
        self.seq = self.seq % 0x7FFFFFFF + 1
        return self.seq

    def send(self, data: bytes, *, wait: bool = True) -> asyncio.Future[Frame] | None:
        """Write a request (renumbered) and return the future of its response."""
        if self.closed:
            raise NotBound("connection closed")
        seq = self.next_seq()
        fut = self.loop.create_future() if wait else None
        self.pending[seq] = (fut, self.loop.time())
        self.write(data[:12] + seq.to_bytes(4, "big") + data[16:])
        return fut

    def answer(self, frame: Frame) -> None:
        entry = self.pending.pop(frame.sequence_number, None)
        if entry is None:
            log.debug("response 0x%08X to unknown sequence %d", frame.command_id, frame.sequence_number)
            return
        fut = entry[0]
        if fut is not None and not fut.done():
            fut.set_result(frame)

    def overdue(self, timeout: float) -> bool:
        if not self.pending:
            return False
        _, sent = next(iter(self.pending.values()))
        return self.loop.time() - sent > timeout

    def close(self, reason: str, *, graceful: bool = False) -> None:
        """Fail what waits for an answer; after an unbind let what is written leave first."""
        if self.closed:
            return
        self.closed = True
        for fut, _ in self.pending.values():
            if fut is not None and not fut.done():
                fut.set_exception(NotBound(reason))
        self.pending.clear()
        self.output.flush()
        if graceful:
            self.writer.transport.close()
        else:
            self.writer.transport.abort()


class SmppClient:
    """One transceiver bind to one SMSC, kept up by ``run`` until ``stop`` is set."""

    def __init__(self, config: SmppConfig, handler: Handler) -> None:
        self.config = config
        self.handler = handler
        self.state: State = "down"
        self.last_error: str | None = None
        self.submitted = 0
        self.errors: Counter[str] = Counter()
        self.receipts = 0
        self.inbound = 0
        self.window_in_use = 0
        self._link: _Link | None = None
        self._window = asyncio.Semaphore(config.window)
        self._limiter = _limiter(config.tps)
        self._open = asyncio.Event()  # cleared while throttled parts wait to go first
        self._open.set()
        self._retry_lock = asyncio.Lock()
        self._retrying = 0
        self._paused_until = 0.0
        self._backoff = config.throttle_backoff_seconds
        self._tasks: set[asyncio.Task[None]] = set()
        # Encoded once: a system_id or password that does not fit raises here, not in run().
        self._bind_pdu = pdu.bind(0, pdu.Bind(config.system_id, config.password, config.system_type))

    def stats(self) -> dict[str, object]:
        """For metrics and ``connectors show``."""
        return {
            "bind_state": self.state,
            "window_in_use": self.window_in_use,
            "submitted": self.submitted,
            "errors": dict(self.errors),
            "receipts": self.receipts,
            "inbound": self.inbound,
            "last_error": self.last_error,
        }

    # -- the connection ---------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Bind, serve, and bind again after any loss (backoff with jitter) until ``stop``."""
        cfg = self.config
        delay = cfg.reconnect_min_seconds
        try:
            while not stop.is_set():
                was_bound = False
                try:
                    was_bound = await self._session(stop)
                except BindRefused as exc:
                    self._fail(str(exc))
                except (OSError, TimeoutError, pdu.FrameError) as exc:
                    self._fail(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
                if stop.is_set():
                    break
                if was_bound:
                    delay = cfg.reconnect_min_seconds
                try:
                    async with asyncio.timeout(random.uniform(delay / 2, delay)):
                        await stop.wait()
                except TimeoutError:
                    pass
                delay = min(delay * 2, cfg.reconnect_max_seconds)
        finally:
            self.state = "down"
            if self._tasks:  # let receipts being stored finish; their answers are moot now
                await asyncio.wait(self._tasks, timeout=cfg.response_timeout_seconds)

    def _fail(self, reason: str) -> None:
        self.last_error = reason
        log.warning("smpp %s@%s:%d: %s", self.config.system_id, self.config.host, self.config.port, reason)

    async def _session(self, stop: asyncio.Event) -> bool:
        """One connection; True if it got bound. Returns when it ends."""
        cfg = self.config
        self.state = "binding"
        context = cfg.ssl_context or (ssl.create_default_context() if cfg.tls else None)
        try:
            async with asyncio.timeout(cfg.response_timeout_seconds):
                reader, writer = await asyncio.open_connection(
                    cfg.host, cfg.port, ssl=context, server_hostname=cfg.host if context else None
                )
        except BaseException:
            self.state = "down"
            raise
        link = _Link(writer)
        incoming = aiter(pdu.frames(reader))
        tasks: list[asyncio.Task[str]] = []
        bound, reason, graceful = False, "closed", False
        try:
            await self._bind(link, incoming)
            tasks = [
                asyncio.create_task(self._read(link, incoming)),
                asyncio.create_task(self._keepalive(link)),
                asyncio.create_task(_waited(stop, "stopped")),
            ]
            self._link, self.state, bound = link, "bound", True
            self.last_error = None
            self._backoff = cfg.throttle_backoff_seconds
            log.info("smpp %s@%s:%d bound", cfg.system_id, cfg.host, cfg.port)
            await self._call("bound", self.handler.bound())
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finished = done.pop()
            reason = _reason(finished)
            if finished is tasks[2]:
                await self._unbind(link)
                graceful = True
            else:
                graceful = reason == UNBOUND_BY_PEER
                self._fail(reason)
            return True
        finally:
            if self._link is link:
                self._link = None
            self.state = "down"
            link.close(reason, graceful=graceful)
            for task in tasks:
                task.cancel()
            if bound:
                await self._call("unbound", self.handler.unbound(reason))

    async def _bind(self, link: _Link, incoming: AsyncIterator[Frame]) -> None:
        cfg = self.config
        link.send(self._bind_pdu, wait=False)
        seq = link.seq
        async with asyncio.timeout(cfg.response_timeout_seconds):
            while True:
                try:
                    frame = await anext(incoming)
                except StopAsyncIteration:
                    raise ConnectionError("closed by the SMSC during bind") from None
                if frame.sequence_number == seq and frame.command_id in (pdu.BIND_TRANSCEIVER_RESP, pdu.GENERIC_NACK):
                    break
                if frame.command_id == pdu.ENQUIRE_LINK:
                    link.write(pdu.enquire_link_resp(frame.sequence_number))
        link.pending.pop(seq, None)
        if frame.command_status != pdu.ESME_ROK:
            raise BindRefused(frame.command_status)

    async def _read(self, link: _Link, incoming: AsyncIterator[Frame]) -> str:
        """Dispatch every PDU the SMSC sends; returns why the connection ended."""
        deliver = self._deliver
        async for frame in incoming:
            command_id = frame.command_id
            if command_id & pdu.RESPONSE:
                link.answer(frame)
            elif command_id == pdu.DELIVER_SM:
                task = asyncio.create_task(deliver(link, frame))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            elif command_id == pdu.ENQUIRE_LINK:
                link.write(pdu.enquire_link_resp(frame.sequence_number))
            elif command_id == pdu.UNBIND:
                link.write(pdu.unbind_resp(frame.sequence_number))
                link.output.flush()
                await link.writer.drain()
                return UNBOUND_BY_PEER
            else:
                link.write(pdu.generic_nack(frame.sequence_number, pdu.ESME_RINVCMDID))
        return "closed by the SMSC"

    async def _keepalive(self, link: _Link) -> str:
        """enquire_link every N seconds; any response overdue ends the connection."""
        cfg = self.config
        tick = max(0.05, min(1.0, cfg.response_timeout_seconds / 4, cfg.enquire_link_seconds / 4))
        loop = asyncio.get_running_loop()
        next_enquire = loop.time() + cfg.enquire_link_seconds
        while True:
            await asyncio.sleep(tick)
            if link.overdue(cfg.response_timeout_seconds):
                return f"no response within {cfg.response_timeout_seconds:g} s"
            if loop.time() >= next_enquire:
                link.send(pdu.enquire_link(0), wait=False)
                next_enquire = loop.time() + cfg.enquire_link_seconds

    async def _unbind(self, link: _Link) -> None:
        """Say goodbye and wait briefly for the answer; the connection closes either way."""
        try:
            fut = link.send(pdu.unbind(0))
            async with asyncio.timeout(min(2.0, self.config.response_timeout_seconds)):
                await fut  # type: ignore[misc]
        except (TimeoutError, SubmitError, OSError):
            pass

    async def _call(self, name: str, call: Awaitable[None]) -> None:
        try:
            await call
        except Exception:
            log.exception("smpp handler %s() failed", name)

    # -- deliver_sm in ----------------------------------------------------------------

    async def _deliver(self, link: _Link, frame: Frame) -> None:
        """Hand a receipt or inbound part to the handler, then answer: ESME_ROK once it is
        stored, ESME_RX_T_APPN (retry later) if storing failed."""
        status = pdu.ESME_ROK
        try:
            sm = pdu.decode_sm(frame.data)
        except ValueError as exc:
            log.warning("smpp %s: undecodable deliver_sm: %s", self.config.system_id, exc)
            status = pdu.ESME_RX_P_APPN  # resending it will not make it readable
        else:
            try:
                tags = pdu.tlv_map(sm.tlvs)
                if sm.esm_class & 0x3C in RECEIPT_TYPES or pdu.TLV_RECEIPTED_MESSAGE_ID in tags:
                    receipt = receipts.parse(sm.short_message, tags)
                    if receipt is None:
                        log.warning("smpp %s: receipt without a message id: %r", self.config.system_id, sm.short_message)
                    else:
                        await self.handler.receipt(receipt)
                        self.receipts += 1
                else:
                    part = text.decode(sm.data_coding, sm.esm_class, sm.short_message, tags)
                    await self.handler.inbound(
                        InboundPart(
                            source=addresses.e164(sm.source_addr, sm.source_addr_ton),
                            destination=sm.destination_addr,
                            text=part.text,
                            concat=part.concat,
                            source_ton=sm.source_addr_ton,
                            source_npi=sm.source_addr_npi,
                            data_coding=sm.data_coding,
                        )
                    )
                    self.inbound += 1
            except Exception:
                log.exception("smpp %s: deliver_sm not stored; answering ESME_RX_T_APPN", self.config.system_id)
                status = pdu.ESME_RX_T_APPN
        if not link.closed:
            link.write(pdu.deliver_sm_resp(frame.sequence_number, status))

    # -- submit_sm out ----------------------------------------------------------------

    async def submit(self, message: Outgoing) -> list[str]:
        """Submit every part of ``message`` in order; the SMSC message id of each part.

        Throttling is absorbed here (the part waits and goes again, first). Raises
        NotBound, Rejected or Throttled; each carries the ids of the parts accepted so far.
        """
        if self._link is None:
            raise NotBound("not bound")
        cfg = self.config
        try:
            source, ston, snpi = addresses.source(message.sender, ton=cfg.source_ton, npi=cfg.source_npi)
        except ValueError as exc:
            raise Rejected(pdu.ESME_RINVSRCADR, str(exc)) from None
        try:
            destination, dton, dnpi = addresses.destination(message.destination)
        except ValueError as exc:
            raise Rejected(pdu.ESME_RINVDSTADR, str(exc)) from None
        try:
            encoded = text.split(message.text, force_unicode=message.force_unicode, reference=message.reference)
        except ValueError as exc:
            raise Rejected(pdu.ESME_RINVMSGLEN, str(exc)) from None
        accepted: list[str] = []
        for short_message in encoded.parts:
            data = pdu.submit_sm(
                0,
                source_addr=source,
                source_addr_ton=ston,
                source_addr_npi=snpi,
                destination_addr=destination,
                dest_addr_ton=dton,
                dest_addr_npi=dnpi,
                short_message=short_message,
                data_coding=encoded.data_coding,
                esm_class=encoded.esm_class,
                registered_delivery=message.registered_delivery,
            )
            try:
                accepted.append(await self._submit_part(data))
            except SubmitError as exc:
                exc.accepted = accepted
                raise
        return accepted

    async def _submit_part(self, data: bytes) -> str:
        frame = await self._send(data, ahead=False)
        status = frame.command_status
        if status == pdu.ESME_ROK:
            return self._accepted(frame)
        if status not in THROTTLING:
            raise self._rejected(status)
        # Throttled: new parts wait at the gate while this one waits out the pause and
        # goes again ahead of them (throttled parts one by one, in the order they were
        # refused), so the order of submission is kept.
        self._throttled(status)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.throttle_deadline_seconds
        self._retrying += 1
        self._open.clear()
        try:
            async with self._retry_lock:
                while True:
                    delay = self._paused_until - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    if loop.time() >= deadline:
                        raise Throttled(f"still {pdu.status_name(status)} after {self.config.throttle_deadline_seconds:g} s")
                    frame = await self._send(data, ahead=True)
                    status = frame.command_status
                    if status == pdu.ESME_ROK:
                        return self._accepted(frame)
                    if status not in THROTTLING:
                        raise self._rejected(status)
                    self._throttled(status)
        finally:
            self._retrying -= 1
            if not self._retrying:
                self._open.set()

    async def _send(self, data: bytes, *, ahead: bool) -> Frame:
        """One submit_sm through the window and the rate limit; ``ahead`` (a throttled part
        going again) passes the gate that holds new parts back."""
        while True:
            if not ahead and not self._open.is_set():
                await self._open.wait()
                continue
            async with self._window:
                if not ahead and not self._open.is_set():
                    continue
                self.window_in_use += 1
                try:
                    if self._limiter is not None:
                        await self._limiter.acquire()
                    link = self._link
                    if link is None:
                        raise NotBound("not bound")
                    return await link.send(data)  # type: ignore[misc]
                finally:
                    self.window_in_use -= 1

    def _accepted(self, frame: Frame) -> str:
        self.submitted += 1
        self._backoff = self.config.throttle_backoff_seconds
        return pdu.message_id(frame.body)

    def _rejected(self, status: int) -> Rejected:
        self.errors[pdu.status_name(status)] += 1
        return Rejected(status)

    def _throttled(self, status: int) -> None:
        """Count it and pause new submissions; a throttle after the pause doubles the next."""
        self.errors[pdu.status_name(status)] += 1
        now = asyncio.get_running_loop().time()
        if now >= self._paused_until:
            self._paused_until = now + self._backoff
            self._backoff = min(self._backoff * 2, MAX_THROTTLE_BACKOFF)


def _limiter(tps: float | None) -> AsyncLimiter | None:
    """A leaky bucket that holds a tenth of a second of traffic, so a burst stays small."""
    if not tps:
        return None
    capacity = max(1.0, tps / 10)
    return AsyncLimiter(capacity, capacity / tps)


async def _waited(event: asyncio.Event, reason: str) -> str:
    await event.wait()
    return reason


def _reason(task: asyncio.Task[str]) -> str:
    if task.cancelled():
        return "cancelled"
    exc = task.exception()
    if exc is not None:
        return f"{type(exc).__name__}: {exc}"
    return task.result()
