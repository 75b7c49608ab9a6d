"""A test and demo SMSC: SMPP 3.4 over TCP, on Postino's own PDU layer.

It answers submit_sm, sends receipts and inbound messages as deliver_sm, and misbehaves
on request (throttling, failures, a connection dropped with responses held back, receipt
ids in another form), which a well-behaved library server cannot be made to do. Every
event is one JSON line in the log, flushed at once, so a test can poll it.

A receipt or inbound message is kept until the ESME answers deliver_sm_resp ESME_ROK:
an error answer puts it back for a later retry, a lost connection for the next bind.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, Literal

import orjson

from ..connectors.smpp import addresses, pdu, text

HELD = 5  # default of --hold: with --disconnect-after N, submit_sm N-4 .. N are never answered
HOLD_GIVE_UP = 1.0  # seconds without a new submit_sm before a drop with fewer held
DELIVER_WINDOW = 100  # outstanding deliver_sm per connection (SMSCs pipeline receipts as ESMEs pipeline submits)
RETRY_SECONDS = 0.2  # a deliver_sm answered with an error goes again after this
ANYONE = ""  # the queue of inbound messages for whoever binds first
FIRST_MESSAGE_ID = 0x1A2B0  # hex ids with letters, so an upper-case or decimal receipt id differs

BIND_RESPONSES = {
    pdu.BIND_TRANSCEIVER: pdu.BIND_TRANSCEIVER_RESP,
    pdu.BIND_TRANSMITTER: pdu.BIND_TRANSMITTER_RESP,
    pdu.BIND_RECEIVER: pdu.BIND_RECEIVER_RESP,
}


@dataclass(frozen=True)
class Options:
    host: str = "127.0.0.1"
    port: int = 0
    system_id: str | None = None  # None: any system_id and password bind
    password: str | None = field(default=None, repr=False)
    receipt_delay: float = 0.0
    deliver: float = 1.0
    throttle_every: int = 0
    fail_every: int = 0
    disconnect_after: int = 0
    hold: int = HELD  # how many submit_sm before the drop are left unanswered
    parent_pid: int | None = None  # stop when this process is gone (the demo's server)
    receipt_id_form: Literal["same", "decimal", "upper"] = "same"
    seed: int | None = None


@dataclass
class Outbound:
    """A deliver_sm waiting for its ESME_ROK: a receipt or one part of an inbound message."""

    system_id: str
    data: bytes  # the whole PDU; renumbered for each try
    event: dict[str, Any]  # what the log line says when it is answered


class Esme:
    """One connection from an ESME."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.transport = writer.transport
        self.output = pdu.Output(writer)
        self.write = self.output.write
        self.system_id: str | None = None
        self.receives = False  # transceiver or receiver: deliver_sm go to it
        self.seq = 0
        self.pending: dict[int, Outbound] = {}  # deliver_sm sent, not yet answered
        self.held: list[tuple[int, dict[str, Any]]] = []  # submit_sm never to be answered
        self.closed = False

    def next_seq(self) -> int:
        self.seq = self.seq % 0x7FFFFFFF + 1
        return self.seq


class EventLog:
    """JSON lines, one per event, flushed per line (or nowhere)."""

    def __init__(self, out: IO[bytes] | None) -> None:
        self.out = out

    def __call__(self, event: str, **fields: Any) -> None:
        if self.out is None:
            return
        self.out.write(orjson.dumps({"event": event, **fields}) + b"\n")
        self.out.flush()


class Simulator:
    def __init__(self, options: Options, log: EventLog | None = None) -> None:
        self.options = options
        self.log = log or EventLog(None)
        self.random = random.Random(options.seed)
        self.submits = 0
        self.next_id = FIRST_MESSAGE_ID
        self.reference = self.random.randrange(256)
        self.esmes: set[Esme] = set()
        self.ready: dict[str, deque[Outbound]] = {}  # due deliver_sm, by system_id
        self.last_system_id: str | None = options.system_id
        self.dropped = False  # --disconnect-after has happened
        self.give_up: asyncio.TimerHandle | None = None
        self.server: asyncio.Server | None = None

    # -- serving -----------------------------------------------------------------

    async def start(self) -> tuple[str, int]:
        self.server = await asyncio.start_server(self._serve, self.options.host, self.options.port)
        host, port = self.server.sockets[0].getsockname()[:2]
        return host, port

    async def close(self) -> None:
        for esme in list(self.esmes):
            self._drop(esme, abrupt=False)
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        esme = Esme(writer)
        self.esmes.add(esme)
        try:
            async for frame in pdu.frames(reader):
                if esme.closed or not self._handle(esme, frame):  # closed: dropped on purpose
                    break
        except (OSError, pdu.FrameError):
            pass
        finally:
            self._drop(esme, abrupt=False)

    def _handle(self, esme: Esme, frame: pdu.Frame) -> bool:
        """Answer one PDU; False ends the connection."""
        command_id, seq = frame.command_id, frame.sequence_number
        write = esme.write
        if command_id == pdu.SUBMIT_SM:
            self._submit(esme, frame)
        elif command_id == pdu.DELIVER_SM_RESP or command_id == pdu.GENERIC_NACK:
            self._answered(esme, seq, frame.command_status)
        elif command_id == pdu.ENQUIRE_LINK:
            write(pdu.enquire_link_resp(seq))
        elif command_id in BIND_RESPONSES:
            return self._bind(esme, frame)
        elif command_id == pdu.UNBIND:
            self.log("unbind", system_id=esme.system_id)
            write(pdu.unbind_resp(seq))
            return False
        elif command_id & pdu.RESPONSE:
            pass  # enquire_link_resp, unbind_resp: nothing waits for them here
        else:
            write(pdu.generic_nack(seq, pdu.ESME_RINVCMDID))
        return True

    def _bind(self, esme: Esme, frame: pdu.Frame) -> bool:
        response = BIND_RESPONSES[frame.command_id]
        b = pdu.parse_bind(frame.body)
        o = self.options
        if esme.system_id is not None:
            status = pdu.ESME_RALYBND
        elif o.system_id is not None and (b.system_id != o.system_id or b.password != (o.password or "")):
            status = pdu.ESME_RBINDFAIL
        else:
            status = pdu.ESME_ROK
        self.log("bind", system_id=b.system_id, status=pdu.status_name(status))
        esme.write(pdu.bind_resp(frame.sequence_number, status, "postino-smsc", response))
        if status == pdu.ESME_RALYBND:
            return True
        if status != pdu.ESME_ROK:
            return False
        esme.system_id = b.system_id
        esme.receives = frame.command_id != pdu.BIND_TRANSMITTER
        self.last_system_id = b.system_id
        waiting = self.ready.pop(ANYONE, deque())  # asked for before anyone had bound
        for item in waiting:
            item.system_id = b.system_id
        self.ready.setdefault(b.system_id, deque()).extend(waiting)
        self._drain(b.system_id)
        return True

    def _drop(self, esme: Esme, *, abrupt: bool = True) -> None:
        """End a connection; what it had not answered goes back to the front of the queue.

        Abruptly: no unbind, and nothing more is read; what was already answered still
        leaves (then FIN), so the log never shows an answer the ESME did not get. Closing
        with unread input would send a reset, which can destroy those answers in flight.
        """
        if esme.closed:
            return
        esme.closed = True
        self.esmes.discard(esme)
        esme.output.flush()
        if abrupt and esme.transport.can_write_eof():
            esme.transport.write_eof()
            asyncio.get_running_loop().call_later(2.0, esme.transport.abort)
        else:
            esme.transport.close()
        if esme.pending and esme.system_id is not None:
            queue = self.ready.setdefault(esme.system_id, deque())
            queue.extendleft(reversed(list(esme.pending.values())))
            esme.pending.clear()
            self._drain(esme.system_id)

    def disconnect_all(self) -> None:
        self.log("disconnect", reason="asked", connections=len(self.esmes))
        for esme in list(self.esmes):
            self._drop(esme)

    # -- submit_sm -----------------------------------------------------------------

    def _submit(self, esme: Esme, frame: pdu.Frame) -> None:
        seq = frame.sequence_number
        if esme.system_id is None:
            esme.write(pdu.submit_sm_resp(seq, "", pdu.ESME_RINVBNDSTS))
            return
        try:
            sm = pdu.decode_sm(frame.data)
        except ValueError:
            esme.write(pdu.submit_sm_resp(seq, "", pdu.ESME_RSYSERR))
            return
        self.submits += 1
        n = self.submits
        o = self.options
        event = self._describe(sm)
        if o.disconnect_after and not self.dropped and n > o.disconnect_after - o.hold:
            self._hold(esme, seq, event, last=n >= o.disconnect_after)
            return
        if o.throttle_every and n % o.throttle_every == 0:
            status = pdu.ESME_RTHROTTLED
        elif o.fail_every and n % o.fail_every == 0:
            status = pdu.ESME_RSUBMITFAIL
        else:
            status = pdu.ESME_ROK
        message_id = None
        if status == pdu.ESME_ROK:
            message_id = format(self.next_id, "x")
            self.next_id += 1
        if self.log.out is not None:  # logged before the answer, so a reader of the log never lags the ESME
            self.log("submit_sm", **event, message_id=message_id, status=pdu.status_name(status))
        esme.write(pdu.submit_sm_resp(seq, message_id or "", status))
        if message_id is not None and sm.registered_delivery & 0x03:
            self._receipt(esme.system_id, sm, message_id)

    def _describe(self, sm: Any) -> dict[str, Any]:
        if self.log.out is None:
            return {}
        part = text.decode(sm.data_coding, sm.esm_class, sm.short_message, sm.tlvs)
        c = part.concat
        return {
            "source_addr": sm.source_addr,
            "source_addr_ton": sm.source_addr_ton,
            "source_addr_npi": sm.source_addr_npi,
            "destination_addr": sm.destination_addr,
            "data_coding": sm.data_coding,
            "esm_class": sm.esm_class,
            "registered_delivery": sm.registered_delivery,
            "udh": None if c is None else {"ref": c.ref, "total": c.total, "seq": c.seq},
            "text": part.text,
        }

    def _hold(self, esme: Esme, seq: int, event: dict[str, Any], *, last: bool) -> None:
        """Keep this submit_sm unanswered; at the Nth (or when no more come) drop the line."""
        esme.held.append((seq, event))
        if self.give_up is not None:
            self.give_up.cancel()
        if last:
            self._drop_holding(esme)
        else:
            self.give_up = asyncio.get_running_loop().call_later(HOLD_GIVE_UP, self._drop_holding, esme)

    def _drop_holding(self, esme: Esme) -> None:
        self.dropped = True
        self.give_up = None
        for _, event in esme.held:
            self.log("submit_sm", **event, message_id=None, status=None)
        self.log("disconnect", reason="disconnect-after", held=len(esme.held), system_id=esme.system_id)
        esme.held.clear()
        self._drop(esme)

    # -- deliver_sm: receipts and inbound messages ------------------------------------

    def _receipt(self, system_id: str, sm: Any, message_id: str) -> None:
        o = self.options
        delivered = self.random.random() < o.deliver
        if delivered and sm.registered_delivery & 0x03 == 2:  # 2: a receipt on failure only
            return
        stat = "DELIVRD" if delivered else "UNDELIV"
        shown = {"same": message_id, "upper": message_id.upper(), "decimal": str(int(message_id, 16))}[o.receipt_id_form]
        stamp = time.strftime("%y%m%d%H%M")
        sent = text.decode(sm.data_coding, sm.esm_class, sm.short_message, sm.tlvs).text
        body = (
            f"id:{shown} sub:001 dlvrd:{'001' if delivered else '000'} submit date:{stamp} done date:{stamp} "
            f"stat:{stat} err:{'000' if delivered else '001'} text:"
        ).encode("ascii") + sent[:20].encode("ascii", "replace")
        data = pdu.deliver_sm(
            0,
            source_addr=sm.destination_addr,
            source_addr_ton=sm.dest_addr_ton,
            source_addr_npi=sm.dest_addr_npi,
            destination_addr=sm.source_addr,
            dest_addr_ton=sm.source_addr_ton,
            dest_addr_npi=sm.source_addr_npi,
            short_message=body,
            esm_class=0x04,
            tlvs={
                pdu.TLV_RECEIPTED_MESSAGE_ID: shown.encode("ascii") + b"\0",
                pdu.TLV_MESSAGE_STATE: bytes([2 if delivered else 5]),
            },
        )
        event = {"event": "receipt", "message_id": shown, "submit_message_id": message_id, "stat": stat}
        self._later(o.receipt_delay, Outbound(system_id, data, event))

    def inbound(self, source: str, destination: str, body: str, system_id: str | None = None) -> None:
        """An inbound message to an ESME, split into UDH parts when long, sent in order."""
        target = system_id or self.last_system_id or ANYONE
        src, ston, snpi = addresses.source(source)
        dst, dton, dnpi = addresses.source(destination)
        encoded = text.split(body, reference=self.reference)
        self.reference = (self.reference + 1) % 256
        for i, short_message in enumerate(encoded.parts):
            data = pdu.deliver_sm(
                0,
                source_addr=src,
                source_addr_ton=ston,
                source_addr_npi=snpi,
                destination_addr=dst,
                dest_addr_ton=dton,
                dest_addr_npi=dnpi,
                short_message=short_message,
                data_coding=encoded.data_coding,
                esm_class=encoded.esm_class,
            )
            part = text.decode(encoded.data_coding, encoded.esm_class, short_message)
            c = part.concat
            event = {
                "event": "deliver",
                "source_addr": src,
                "destination_addr": dst,
                "udh": None if c is None else {"ref": c.ref, "total": c.total, "seq": c.seq},
                "text": part.text,
                "part": i + 1,
            }
            self._later(0.0, Outbound(target, data, event))

    def _later(self, delay: float, item: Outbound) -> None:
        loop = asyncio.get_running_loop()
        if delay <= 0:
            loop.call_soon(self._due, item)
        else:
            loop.call_later(delay, self._due, item)

    def _due(self, item: Outbound) -> None:
        if item.system_id == ANYONE and self.last_system_id is not None:
            # asked for before any bind, due after one: the bind took the waiting ones already
            item.system_id = self.last_system_id
        self.ready.setdefault(item.system_id, deque()).append(item)
        self._drain(item.system_id)

    def _drain(self, system_id: str) -> None:
        """Send due deliver_sm to the bound connections of ``system_id``, within their windows."""
        queue = self.ready.get(system_id)
        if not queue:
            return
        for esme in [e for e in self.esmes if e.system_id == system_id and e.receives and not e.closed]:
            while queue and len(esme.pending) < DELIVER_WINDOW:
                item = queue.popleft()
                seq = esme.next_seq()
                esme.pending[seq] = item
                esme.write(pdu.with_sequence(item.data, seq))
            if not queue:
                return

    def _answered(self, esme: Esme, seq: int, status: int) -> None:
        item = esme.pending.pop(seq, None)
        if item is None:
            return
        acked = status == pdu.ESME_ROK
        self.log(item.event["event"], **{k: v for k, v in item.event.items() if k != "event"},
                 acked=acked, status=pdu.status_name(status))
        if not acked:
            self._later(RETRY_SECONDS, item)
        self._drain(item.system_id)

    # -- commands on stdin ------------------------------------------------------------

    def command(self, line: str) -> None:
        """``{"deliver": {"from", "to", "text", "system_id"?}}`` or ``{"disconnect": true}``."""
        line = line.strip()
        if not line:
            return
        try:
            request = orjson.loads(line)
            if not isinstance(request, dict):
                raise ValueError("a command is a JSON object")
            if request.get("disconnect"):
                self.disconnect_all()
            if "deliver" in request:
                d = request["deliver"]
                self.inbound(str(d["from"]), str(d["to"]), str(d["text"]), d.get("system_id"))
        except (ValueError, KeyError, TypeError) as exc:
            self.log("error", error=f"bad command: {exc}", line=line)


def read_commands(loop: asyncio.AbstractEventLoop, handle: Callable[[str], None], stream: IO[str]) -> None:
    """Feed stdin lines to the loop from a daemon thread (stdin may be a pipe, a file or
    a terminal; a daemon thread never keeps the process from exiting)."""

    def pump() -> None:
        for line in stream:
            loop.call_soon_threadsafe(handle, line)

    threading.Thread(target=pump, name="smsc-stdin", daemon=True).start()


async def _watch_parent(parent_pid: int, stop: asyncio.Event) -> None:
    """A server killed with SIGKILL cannot stop its SMSC: the SMSC notices and stops itself."""
    while not stop.is_set():
        if os.getppid() != parent_pid:
            stop.set()
            return
        await asyncio.sleep(1)


async def serve(options: Options, log: EventLog, *, commands: IO[str] | None = None, out: IO[str] = sys.stdout) -> None:
    """Run until SIGTERM / SIGINT; prints ``listening on HOST:PORT`` once it accepts."""
    sim = Simulator(options, log)
    host, port = await sim.start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if commands is not None:
        read_commands(loop, sim.command, commands)
    print(f"listening on {host}:{port}", file=out, flush=True)
    watch = asyncio.create_task(_watch_parent(options.parent_pid, stop)) if options.parent_pid else None
    try:
        await stop.wait()
    finally:
        if watch is not None:
            watch.cancel()
        await sim.close()
