"""PDU framing and the small PDUs, byte for byte."""

from __future__ import annotations

import asyncio

import pytest
import smpp34

from postino.connectors.smpp import pdu


def reader_of(*chunks: bytes, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    for chunk in chunks:
        reader.feed_data(chunk)
    if eof:
        reader.feed_eof()
    return reader


async def collect(reader: asyncio.StreamReader) -> list[pdu.Frame]:
    return [frame async for frame in pdu.frames(reader)]


def test_status_names() -> None:
    assert pdu.status_name(0x58) == "ESME_RTHROTTLED"
    assert pdu.status_name(pdu.ESME_RMSGQFUL) == "ESME_RMSGQFUL"
    assert pdu.status_name(0x64) == "ESME_RX_T_APPN"
    assert pdu.status_name(0) == "ESME_ROK"
    assert pdu.status_name(0x400) == "0x00000400"


def test_bind_transceiver_bytes() -> None:
    data = pdu.bind(1, pdu.Bind("postino", "secret1", "sms"))
    assert data.hex() == (
        "00000028" "00000009" "00000000" "00000001"  # length 40, bind_transceiver, status, sequence
        "706f7374696e6f00" "7365637265743100" "736d7300"  # "postino", "secret1", "sms"
        "34" "00" "00" "00"  # interface_version 3.4, addr_ton, addr_npi, address_range ""
    )
    assert pdu.parse_bind(data[16:]) == pdu.Bind("postino", "secret1", "sms")
    assert "secret1" not in repr(pdu.parse_bind(data[16:]))


def test_simple_pdus() -> None:
    assert pdu.enquire_link(7).hex() == "00000010000000150000000000000007"
    assert pdu.enquire_link_resp(7).hex() == "00000010800000150000000000000007"
    assert pdu.unbind(8).hex() == "00000010000000060000000000000008"
    assert pdu.unbind_resp(8).hex() == "00000010800000060000000000000008"
    assert pdu.generic_nack(9, pdu.ESME_RINVCMDID).hex() == "00000010800000000000000300000009"
    assert pdu.deliver_sm_resp(3).hex() == "0000001180000005000000000000000300"
    assert pdu.deliver_sm_resp(3, pdu.ESME_RX_T_APPN).hex() == "0000001180000005000000640000000300"
    assert pdu.submit_sm_resp(4, "1a2b").hex() == "000000158000000400000000000000043161326200"
    assert pdu.submit_sm_resp(4, "", pdu.ESME_RTHROTTLED).hex() == "00000010800000040000005800000004"  # no body on error
    assert pdu.message_id(b"1a2b\x00") == "1a2b" and pdu.message_id(b"") == ""
    ok = pdu.bind_resp(1, pdu.ESME_ROK, "smsc")
    assert ok[16:] == b"smsc\x00\x02\x10\x00\x01\x34"  # system_id, sc_interface_version TLV 3.4
    assert pdu.bind_resp(1, pdu.ESME_RBINDFAIL, "smsc").hex() == "00000010" "80000009" "0000000d" "00000001"


def test_c_strings_are_bounded() -> None:
    assert pdu.c_string("postino", 16) == b"postino\x00"
    with pytest.raises(ValueError):
        pdu.c_string("a" * 16, 16)  # 16 characters and the NUL do not fit 16 octets
    with pytest.raises(ValueError):
        pdu.bind(1, pdu.Bind("postino", "longer-than-8"))
    assert pdu.read_c_strings(b"a\x00bc\x00", 3) == (["a", "bc", ""], 6)


def test_submit_sm_goes_through_smpp34_and_renumbers() -> None:
    data = pdu.submit_sm(
        0, source_addr="Postino", source_addr_ton=5, source_addr_npi=0, destination_addr="393331234567",
        short_message=b"\x05\x00\x03\x2a\x02\x01hi", data_coding=0, esm_class=0x40, registered_delivery=1,
    )
    again = pdu.with_sequence(data, 0x01020304)
    assert len(again) == len(data) and again[12:16] == b"\x01\x02\x03\x04" and again[16:] == data[16:]
    sm = pdu.decode_sm(again)
    assert isinstance(sm, smpp34.SubmitSm)
    assert (sm.sequence_number, sm.source_addr, sm.source_addr_ton) == (0x01020304, "Postino", 5)
    assert sm.destination_addr == "393331234567"
    assert (sm.esm_class, sm.registered_delivery, sm.short_message) == (0x40, 1, b"\x05\x00\x03\x2a\x02\x01hi")


def test_deliver_sm_with_tlvs() -> None:
    data = pdu.deliver_sm(
        5, source_addr="393331234567", destination_addr="Postino", short_message=b"id:1 stat:DELIVRD", esm_class=4,
        tlvs={pdu.TLV_RECEIPTED_MESSAGE_ID: b"1\x00", pdu.TLV_MESSAGE_STATE: b"\x02"},
    )
    sm = pdu.decode_sm(data)
    assert isinstance(sm, smpp34.DeliverSm) and sm.esm_class == 4
    assert pdu.tlv_map(sm.tlvs) == {0x001E: b"1\x00", 0x0427: b"\x02"}
    with pytest.raises(ValueError):
        pdu.decode_sm(pdu.enquire_link(1))
    with pytest.raises(ValueError):
        pdu.decode_sm(data[:-3])


async def test_frames_cuts_a_stream_into_pdus_however_it_arrives() -> None:
    stream = pdu.enquire_link(1) + pdu.submit_sm_resp(2, "abc") + pdu.unbind(3)
    whole = await collect(reader_of(stream))
    assert [(f.command_id, f.sequence_number) for f in whole] == [(pdu.ENQUIRE_LINK, 1), (pdu.SUBMIT_SM_RESP, 2), (pdu.UNBIND, 3)]
    assert whole[1].body == b"abc\x00" and whole[1].data == pdu.submit_sm_resp(2, "abc")
    bytewise = await collect(reader_of(*(stream[i : i + 1] for i in range(len(stream)))))
    assert bytewise == whole


@pytest.mark.parametrize("length", [0, 15, 64 * 1024 + 1, 0xFFFFFFFF])
async def test_frames_refuses_impossible_lengths(length: int) -> None:
    with pytest.raises(pdu.FrameError):
        await collect(reader_of(length.to_bytes(4, "big") + bytes(12)))


async def test_frames_at_the_largest_allowed_length() -> None:
    big = pdu.encode(pdu.DATA_SM, 1, bytes(64 * 1024 - 16))
    [frame] = await collect(reader_of(big))
    assert len(frame.data) == 64 * 1024


async def test_eof_inside_a_pdu_is_an_error_and_between_pdus_is_the_end() -> None:
    with pytest.raises(ConnectionError):
        await collect(reader_of(pdu.enquire_link(1)[:10]))
    assert await collect(reader_of()) == []
