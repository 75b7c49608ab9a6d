"""Text to short_message parts and back: GSM 03.38 or UCS-2, UDH concatenation.

The part count is the one ``postino.core.messages.segments`` bills: 160/153 septets,
70/67 UTF-16 units. Parts are cut so that a GSM escape pair (``€``, ``[``, ...) or a
UTF-16 surrogate pair (emoji) is never split, as a phone would show garbage at the seam;
so where a cut would fall inside a pair, the pair moves whole to the next part, and a
text that fills its parts to the last unit can then take one part more than
``segments.count`` (a plain division) says.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import smpp34

from ...core.messages.segments import GSM_MULTI, GSM_SINGLE, UCS2_MULTI, UCS2_SINGLE
from . import pdu

DC_GSM, DC_LATIN1, DC_UCS2 = 0, 3, 8
ESM_UDHI = 0x40
ESCAPE = 0x1B


@dataclass(frozen=True)
class Encoded:
    """What submit_sm needs for each part of one text."""

    data_coding: int
    esm_class: int
    parts: list[bytes]  # short_message of each part, UDH included


@dataclass(frozen=True)
class Concat:
    """Where a part sits in a concatenated message."""

    ref: int
    total: int
    seq: int


@dataclass(frozen=True)
class Part:
    """An inbound short message, decoded."""

    text: str
    concat: Concat | None


def _gsm_map() -> dict[int, int | bytes]:
    """Code point -> septets, taken from the codec itself (each entry round-trips), so
    ``codecs.charmap_encode`` gives the codec's bytes at C speed."""
    found: dict[int, int | bytes] = {}
    for septet in range(128):
        for raw in (bytes([septet]), bytes([ESCAPE, septet])):
            try:
                char = raw.decode("gsm03.38")
            except UnicodeDecodeError:
                continue
            if len(char) == 1 and char.encode("gsm03.38") == raw and ord(char) not in found:
                found[ord(char)] = raw[0] if len(raw) == 1 else raw
    # The codec writes U+001B as a bare 0x1B, which a phone reads as the escape of the
    # next character; it goes as a space (one septet, as it is billed).
    found[ESCAPE] = 0x20
    return found


_GSM_MAP = _gsm_map()
_GSM_SEPTETS = {s: bytes([s]).decode("gsm03.38") for s in range(128) if s != ESCAPE}  # for str.translate


def gsm_encode(text: str) -> bytes | None:
    """Unpacked GSM 03.38 septets (one a byte), or None if a character is not in it."""
    try:
        return codecs.charmap_encode(text, "strict", _GSM_MAP)[0]
    except UnicodeEncodeError:
        return None


def gsm_decode(data: bytes) -> str:
    """Unpacked GSM 03.38 to text; an unknown escape becomes U+FFFD rather than an error."""
    if b"\x1b" not in data and max(data, default=0) < 128:
        return data.decode("latin-1").translate(_GSM_SEPTETS)
    return data.decode("gsm03.38", "replace")


def _cut(units: bytes, limit: int, step: int, joined: Callable[[bytes, int], bool]) -> list[bytes]:
    """``units`` in chunks of at most ``limit`` bytes, ending on a ``step`` boundary, and
    moved back one step where ``joined(units, end)`` says the byte pair straddles it."""
    chunks = []
    start, size = 0, len(units)
    while start < size:
        end = min(start + limit, size)
        if end < size and joined(units, end):
            end -= step
        chunks.append(units[start:end])
        start = end
    return chunks


def _gsm_joined(septets: bytes, end: int) -> bool:
    """Whether the septet before ``end`` opens an escape pair (the codec writes 0x1B only
    as the first half of one: no extension character's second septet is 0x1B)."""
    return septets[end - 1] == ESCAPE


def _utf16_joined(data: bytes, end: int) -> bool:
    """Whether the unit before ``end`` is a high surrogate."""
    return 0xD8 <= data[end - 2] <= 0xDB


_REMEMBERED_LENGTH = 1600


def _chunks(text: str, force_unicode: bool) -> tuple[int, tuple[bytes, ...]]:
    """data_coding and the per-part payloads (no UDH); short texts are remembered, as
    one OTP template or newsletter body is sent to many recipients."""
    if len(text) <= _REMEMBERED_LENGTH:
        return _chunks_remembered(text, force_unicode)
    return _cut_text(text, force_unicode)


@lru_cache(maxsize=4096)
def _chunks_remembered(text: str, force_unicode: bool) -> tuple[int, tuple[bytes, ...]]:
    return _cut_text(text, force_unicode)


def _cut_text(text: str, force_unicode: bool) -> tuple[int, tuple[bytes, ...]]:
    septets = None if force_unicode else gsm_encode(text)
    if septets is not None:
        if len(septets) <= GSM_SINGLE:
            return DC_GSM, (septets,)
        return DC_GSM, tuple(_cut(septets, GSM_MULTI, 1, _gsm_joined))
    data = text.encode("utf-16-be")
    if len(data) <= 2 * UCS2_SINGLE:
        return DC_UCS2, (data,)
    return DC_UCS2, tuple(_cut(data, 2 * UCS2_MULTI, 2, _utf16_joined))


def split(text: str, *, force_unicode: bool = False, reference: int) -> Encoded:
    """``text`` as submit_sm parts: one plain part, or parts each led by the 8-bit
    concatenation UDH ``05 00 03 ref total seq`` (``reference`` is taken modulo 256)."""
    data_coding, chunks = _chunks(text, force_unicode)
    if len(chunks) == 1:
        return Encoded(data_coding, 0, [chunks[0]])
    total = len(chunks)
    if total > 255:
        raise ValueError(f"a text of {total} parts does not fit one concatenated message")
    ref = reference & 0xFF
    parts = [bytes((5, 0, 3, ref, total, seq)) + chunk for seq, chunk in enumerate(chunks, 1)]
    return Encoded(data_coding, ESM_UDHI, parts)


def _udh(short_message: bytes) -> tuple[Concat | None, bytes]:
    """The concatenation IE (8-bit 00 or 16-bit 08) of a UDH, and the payload after it."""
    if not short_message:
        return None, short_message
    length = short_message[0]
    header, payload = short_message[1 : 1 + length], short_message[1 + length :]
    concat, i = None, 0
    while i + 2 <= len(header):
        ie, size = header[i], header[i + 1]
        data = header[i + 2 : i + 2 + size]
        if ie == 0x00 and size == 3 and len(data) == 3:
            concat = Concat(data[0], data[1], data[2])
        elif ie == 0x08 and size == 4 and len(data) == 4:
            concat = Concat(int.from_bytes(data[:2], "big"), data[2], data[3])
        i += 2 + size
    return concat, payload


def _sar(tlvs: Mapping[int, bytes]) -> Concat | None:
    try:
        ref = tlvs[pdu.TLV_SAR_MSG_REF_NUM]
        total = tlvs[pdu.TLV_SAR_TOTAL_SEGMENTS]
        seq = tlvs[pdu.TLV_SAR_SEGMENT_SEQNUM]
    except KeyError:
        return None
    return Concat(int.from_bytes(ref, "big"), int.from_bytes(total, "big"), int.from_bytes(seq, "big"))


def decode_text(data_coding: int, payload: bytes) -> str:
    """0 GSM 03.38, 8 UCS-2 (read as UTF-16BE, so pairs survive), 3 Latin-1; any other
    coding (4 is 8-bit binary) as Latin-1, which maps every byte to one character."""
    if data_coding == DC_GSM:
        return gsm_decode(payload)
    if data_coding == DC_UCS2:
        return payload.decode("utf-16-be", "replace")
    return payload.decode("latin-1")


def decode(
    data_coding: int,
    esm_class: int,
    short_message: bytes,
    tlvs: Iterable[smpp34.Tlv] | Mapping[int, bytes] | None = None,
) -> Part:
    """An inbound short message; the text may come in the message_payload TLV instead."""
    tags = pdu.tlv_map(tlvs)
    if not short_message and pdu.TLV_MESSAGE_PAYLOAD in tags:
        short_message = tags[pdu.TLV_MESSAGE_PAYLOAD]
    concat, payload = _udh(short_message) if esm_class & ESM_UDHI else (None, short_message)
    if concat is None:
        concat = _sar(tags)
    return Part(decode_text(data_coding, payload), concat)
