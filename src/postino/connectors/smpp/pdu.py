"""SMPP 3.4 PDUs: framing, the small session PDUs, and submit_sm / deliver_sm through smpp34.

The session PDUs (bind, enquire_link, unbind, the responses, generic_nack) are a header
and a few C-octet strings, so they are encoded here. submit_sm and deliver_sm, with their
seventeen fields and TLVs, go through the ``smpp34`` codec.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import smpp34

# -- command ids --------------------------------------------------------------------
GENERIC_NACK = 0x80000000
BIND_RECEIVER = 0x00000001
BIND_RECEIVER_RESP = 0x80000001
BIND_TRANSMITTER = 0x00000002
BIND_TRANSMITTER_RESP = 0x80000002
QUERY_SM = 0x00000003
SUBMIT_SM = 0x00000004
SUBMIT_SM_RESP = 0x80000004
DELIVER_SM = 0x00000005
DELIVER_SM_RESP = 0x80000005
UNBIND = 0x00000006
UNBIND_RESP = 0x80000006
BIND_TRANSCEIVER = 0x00000009
BIND_TRANSCEIVER_RESP = 0x80000009
ENQUIRE_LINK = 0x00000015
ENQUIRE_LINK_RESP = 0x80000015
DATA_SM = 0x00000103
RESPONSE = 0x80000000  # the bit every response (and generic_nack) carries

# -- command_status ------------------------------------------------------------------
ESME_ROK = 0x00
ESME_RINVMSGLEN = 0x01
ESME_RINVCMDLEN = 0x02
ESME_RINVCMDID = 0x03
ESME_RINVBNDSTS = 0x04
ESME_RALYBND = 0x05
ESME_RINVPRTFLG = 0x06
ESME_RINVREGDLVFLG = 0x07
ESME_RSYSERR = 0x08
ESME_RINVSRCADR = 0x0A
ESME_RINVDSTADR = 0x0B
ESME_RINVMSGID = 0x0C
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RCANCELFAIL = 0x11
ESME_RREPLACEFAIL = 0x13
ESME_RMSGQFUL = 0x14
ESME_RINVSERTYP = 0x15
ESME_RINVNUMDESTS = 0x33
ESME_RINVDLNAME = 0x34
ESME_RINVDESTFLAG = 0x40
ESME_RINVSUBREP = 0x42
ESME_RINVESMCLASS = 0x43
ESME_RCNTSUBDL = 0x44
ESME_RSUBMITFAIL = 0x45
ESME_RINVSRCTON = 0x48
ESME_RINVSRCNPI = 0x49
ESME_RINVDSTTON = 0x50
ESME_RINVDSTNPI = 0x51
ESME_RINVSYSTYP = 0x53
ESME_RINVREPFLAG = 0x54
ESME_RINVNUMMSGS = 0x55
ESME_RTHROTTLED = 0x58
ESME_RINVSCHED = 0x61
ESME_RINVEXPIRY = 0x62
ESME_RINVDFTMSGID = 0x63
ESME_RX_T_APPN = 0x64
ESME_RX_P_APPN = 0x65
ESME_RX_R_APPN = 0x66
ESME_RQUERYFAIL = 0x67
ESME_RINVOPTPARSTREAM = 0xC0
ESME_ROPTPARNOTALLWD = 0xC1
ESME_RINVPARLEN = 0xC2
ESME_RMISSINGOPTPARAM = 0xC3
ESME_RINVOPTPARAMVAL = 0xC4
ESME_RDELIVERYFAILURE = 0xFE
ESME_RUNKNOWNERR = 0xFF

_STATUS_NAMES = {value: name for name, value in globals().items() if name.startswith("ESME_")}

# -- TLV tags ------------------------------------------------------------------------
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_SAR_MSG_REF_NUM = 0x020C
TLV_SAR_TOTAL_SEGMENTS = 0x020E
TLV_SAR_SEGMENT_SEQNUM = 0x020F
TLV_MESSAGE_PAYLOAD = 0x0424
TLV_MESSAGE_STATE = 0x0427
TLV_NETWORK_ERROR_CODE = 0x0423

HEADER = struct.Struct(">IIII")
MIN_LENGTH = 16
MAX_LENGTH = 64 * 1024


def status_name(status: int) -> str:
    """``ESME_RTHROTTLED`` for 0x58; an unknown (vendor) code as ``0x00000400``."""
    return _STATUS_NAMES.get(status, f"0x{status:08X}")


class FrameError(ValueError):
    """The peer sent a command_length no PDU can have: the stream cannot be trusted."""


class Frame(NamedTuple):
    """One whole PDU: its header fields, and its bytes (header included)."""

    command_id: int
    command_status: int
    sequence_number: int
    data: bytes

    @property
    def body(self) -> bytes:
        return self.data[16:]


async def frames(reader: asyncio.StreamReader, *, chunk: int = 65536) -> AsyncIterator[Frame]:
    """Whole PDUs from ``reader``, one at a time, until the peer closes.

    Reads in large chunks and cuts them, so a burst of responses costs one read, not two
    per PDU. Ends quietly at EOF between PDUs; EOF inside one raises ConnectionError.
    """
    buf = bytearray()
    unpack = HEADER.unpack_from
    while True:
        data = await reader.read(chunk)
        if not data:
            if buf:
                raise ConnectionError("connection closed inside a PDU")
            return
        buf += data
        start = 0
        size = len(buf)
        while size - start >= 16:
            length, command_id, status, seq = unpack(buf, start)
            if length < MIN_LENGTH or length > MAX_LENGTH:
                raise FrameError(f"command_length {length} out of range")
            end = start + length
            if end > size:
                break
            yield Frame(command_id, status, seq, bytes(buf[start:end]))
            start = end
        if start:
            del buf[:start]


class Output:
    """Writes to a transport, gathered per turn of the loop: the first goes out at once (no
    added latency), the rest of that turn leave together in one system call, so a
    window of responses resolved at once does not cost one send each."""

    __slots__ = ("transport", "buffer", "gathering", "call_soon")

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.transport = writer.transport
        self.buffer = bytearray()
        self.gathering = False
        self.call_soon = asyncio.get_running_loop().call_soon

    def write(self, data: bytes) -> None:
        if self.gathering:
            self.buffer += data
            return
        self.gathering = True
        self.call_soon(self.flush)
        self.transport.write(data)

    def flush(self) -> None:
        self.gathering = False
        if self.buffer:
            if not self.transport.is_closing():
                self.transport.write(bytes(self.buffer))
            self.buffer.clear()


# -- the small PDUs --------------------------------------------------------------------


def encode(command_id: int, sequence_number: int, body: bytes = b"", status: int = ESME_ROK) -> bytes:
    """A PDU: the 16-byte header and ``body``."""
    return HEADER.pack(16 + len(body), command_id, status, sequence_number) + body


def with_sequence(data: bytes, sequence_number: int) -> bytes:
    """``data`` (a whole PDU) renumbered: an encoded submit_sm is reused on resubmission."""
    return data[:12] + sequence_number.to_bytes(4, "big") + data[16:]


def c_string(value: str, max_length: int) -> bytes:
    """A C-octet string; ``max_length`` counts the terminating NUL, as the SMPP tables do."""
    raw = value.encode("ascii")
    if len(raw) >= max_length or b"\0" in raw:
        raise ValueError(f"{value!r} does not fit a {max_length}-octet C string")
    return raw + b"\0"


def read_c_strings(body: bytes, count: int, offset: int = 0) -> tuple[list[str], int]:
    """``count`` C-octet strings from ``body`` at ``offset``; a missing NUL ends the body."""
    found = []
    for _ in range(count):
        end = body.find(b"\0", offset)
        if end < 0:
            end = len(body)
        found.append(body[offset:end].decode("latin-1"))
        offset = end + 1
    return found, offset


@dataclass(frozen=True)
class Bind:
    """The body of a bind_transceiver / bind_transmitter / bind_receiver."""

    system_id: str
    password: str = ""
    system_type: str = ""
    interface_version: int = 0x34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""

    def __repr__(self) -> str:  # a bind is logged; its password never is
        return f"Bind(system_id={self.system_id!r}, system_type={self.system_type!r})"


def bind(sequence_number: int, b: Bind, command_id: int = BIND_TRANSCEIVER) -> bytes:
    body = (
        c_string(b.system_id, 16)
        + c_string(b.password, 9)
        + c_string(b.system_type, 13)
        + bytes([b.interface_version, b.addr_ton, b.addr_npi])
        + c_string(b.address_range, 41)
    )
    return encode(command_id, sequence_number, body)


def parse_bind(body: bytes) -> Bind:
    (system_id, password, system_type), offset = read_c_strings(body, 3)
    version, ton, npi = (body[offset : offset + 3] + b"\x34\0\0")[:3]
    (address_range,), _ = read_c_strings(body, 1, offset + 3)
    return Bind(system_id, password, system_type, version, ton, npi, address_range)


def bind_resp(sequence_number: int, status: int, system_id: str, command_id: int = BIND_TRANSCEIVER_RESP) -> bytes:
    """A bind response; on success it names the SMSC and says it speaks 3.4."""
    if status != ESME_ROK:
        return encode(command_id, sequence_number, status=status)
    body = c_string(system_id, 16) + struct.pack(">HHB", 0x0210, 1, 0x34)  # sc_interface_version
    return encode(command_id, sequence_number, body)


def enquire_link(sequence_number: int) -> bytes:
    return encode(ENQUIRE_LINK, sequence_number)


def enquire_link_resp(sequence_number: int) -> bytes:
    return encode(ENQUIRE_LINK_RESP, sequence_number)


def unbind(sequence_number: int) -> bytes:
    return encode(UNBIND, sequence_number)


def unbind_resp(sequence_number: int) -> bytes:
    return encode(UNBIND_RESP, sequence_number)


def generic_nack(sequence_number: int, status: int) -> bytes:
    return encode(GENERIC_NACK, sequence_number, status=status)


def submit_sm_resp(sequence_number: int, message_id: str, status: int = ESME_ROK) -> bytes:
    """The SMSC's answer; SMPP 3.4 sends no body with an error status."""
    if status != ESME_ROK:
        return encode(SUBMIT_SM_RESP, sequence_number, status=status)
    return encode(SUBMIT_SM_RESP, sequence_number, c_string(message_id, 65))


def deliver_sm_resp(sequence_number: int, status: int = ESME_ROK) -> bytes:
    """message_id is unused in deliver_sm_resp and is sent as an empty C string."""
    return encode(DELIVER_SM_RESP, sequence_number, b"\0", status)


def message_id(body: bytes) -> str:
    """The message_id C string of a submit_sm_resp body ("" when the SMSC sent none)."""
    end = body.find(b"\0")
    return (body if end < 0 else body[:end]).decode("latin-1")


# -- submit_sm / deliver_sm through smpp34 ----------------------------------------------

Tlvs = Mapping[int, bytes]


def _tlv_list(tlvs: Tlvs | None) -> list[smpp34.Tlv]:
    return [smpp34.Tlv(tag, value) for tag, value in (tlvs or {}).items()]


def tlv_map(tlvs: Iterable[smpp34.Tlv] | Tlvs | None) -> dict[int, bytes]:
    """TLVs by tag, from smpp34's list or an existing mapping."""
    if tlvs is None:
        return {}
    if isinstance(tlvs, Mapping):
        return dict(tlvs)
    return {t.tag: t.value for t in tlvs}


def submit_sm(
    sequence_number: int,
    *,
    source_addr: str,
    source_addr_ton: int,
    source_addr_npi: int,
    destination_addr: str,
    dest_addr_ton: int = 1,
    dest_addr_npi: int = 1,
    short_message: bytes,
    data_coding: int = 0,
    esm_class: int = 0,
    registered_delivery: int = 1,
    service_type: str = "",
    tlvs: Tlvs | None = None,
) -> bytes:
    return smpp34.SubmitSm(
        source_addr,
        destination_addr,
        short_message,
        service_type=service_type,
        source_addr_ton=source_addr_ton,
        source_addr_npi=source_addr_npi,
        dest_addr_ton=dest_addr_ton,
        dest_addr_npi=dest_addr_npi,
        esm_class=esm_class,
        registered_delivery=registered_delivery,
        data_coding=data_coding,
        tlvs=_tlv_list(tlvs),
        sequence_number=sequence_number,
    ).encode()


def deliver_sm(
    sequence_number: int,
    *,
    source_addr: str,
    source_addr_ton: int = 1,
    source_addr_npi: int = 1,
    destination_addr: str,
    dest_addr_ton: int = 0,
    dest_addr_npi: int = 0,
    short_message: bytes,
    data_coding: int = 0,
    esm_class: int = 0,
    tlvs: Tlvs | None = None,
) -> bytes:
    return smpp34.DeliverSm(
        source_addr,
        destination_addr,
        short_message,
        source_addr_ton=source_addr_ton,
        source_addr_npi=source_addr_npi,
        dest_addr_ton=dest_addr_ton,
        dest_addr_npi=dest_addr_npi,
        esm_class=esm_class,
        data_coding=data_coding,
        tlvs=_tlv_list(tlvs),
        sequence_number=sequence_number,
    ).encode()


def decode_sm(data: bytes) -> smpp34.SubmitSm | smpp34.DeliverSm:
    """A whole submit_sm or deliver_sm PDU; anything else (or a malformed one) raises ValueError."""
    try:
        pdu = smpp34.decode(data)
    except smpp34.SmppError as exc:
        raise ValueError(str(exc)) from exc
    if isinstance(pdu, (smpp34.SubmitSm, smpp34.DeliverSm)):
        return pdu
    raise ValueError(f"command_id 0x{pdu.command_id:08X} is not submit_sm / deliver_sm")
