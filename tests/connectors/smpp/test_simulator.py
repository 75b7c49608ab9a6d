"""``postino smsc simulate`` seen from the wire: a raw ESME speaking PDUs to the process."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from postino.connectors.smpp import pdu, text
from tests.support import postino_command, wait_for

from .peers import Smsc


class Raw:
    """A bare SMPP connection: send PDUs, read the next one."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.incoming = aiter(pdu.frames(reader))

    @classmethod
    async def open(cls, port: int) -> "Raw":
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def next(self) -> pdu.Frame:
        return await asyncio.wait_for(anext(self.incoming), timeout=10)

    async def closed(self) -> bool:
        try:
            await asyncio.wait_for(anext(self.incoming), timeout=10)
        except StopAsyncIteration:
            return True
        return False

    async def bind(self, password: str = "secret1") -> pdu.Frame:
        await self.send(pdu.bind(1, pdu.Bind("postino", password)))
        return await self.next()

    def close(self) -> None:
        self.writer.transport.abort()


def submit(seq: int, short_message: bytes, **fields: int) -> bytes:
    return pdu.submit_sm(
        seq, source_addr="Postino", source_addr_ton=5, source_addr_npi=0, destination_addr="393331234567",
        short_message=short_message, **fields,
    )


async def test_bind_checks_credentials_and_the_session_rules(start_smsc) -> None:
    smsc = await start_smsc()
    wrong = await Raw.open(smsc.port)
    refused = await wrong.bind("nope")
    assert (refused.command_id, refused.command_status) == (pdu.BIND_TRANSCEIVER_RESP, pdu.ESME_RBINDFAIL)
    assert await wrong.closed()

    esme = await Raw.open(smsc.port)
    await esme.send(submit(2, b"too early"))
    early = await esme.next()
    assert (early.command_id, early.command_status) == (pdu.SUBMIT_SM_RESP, pdu.ESME_RINVBNDSTS)
    ok = await esme.bind()
    assert (ok.command_status, ok.body[:13]) == (pdu.ESME_ROK, b"postino-smsc\x00")
    again = await esme.bind()
    assert again.command_status == pdu.ESME_RALYBND
    await esme.send(pdu.enquire_link(5))
    assert (await esme.next())[:3] == (pdu.ENQUIRE_LINK_RESP, 0, 5)
    await esme.send(pdu.encode(pdu.QUERY_SM, 6, b"1\x00\x00\x00\x00"))
    assert (await esme.next())[:3] == (pdu.GENERIC_NACK, pdu.ESME_RINVCMDID, 6)
    await esme.send(pdu.unbind(7))
    assert (await esme.next())[:3] == (pdu.UNBIND_RESP, 0, 7)
    assert await esme.closed()
    assert [(e["system_id"], e["status"]) for e in smsc.events("bind")] == [
        ("postino", "ESME_RBINDFAIL"), ("postino", "ESME_ROK"), ("postino", "ESME_RALYBND"),
    ]


async def test_a_receipt_is_kept_until_it_is_answered_ok(start_smsc) -> None:
    smsc = await start_smsc("--receipt-id-form", "upper")
    esme = await Raw.open(smsc.port)
    await esme.bind()
    [part] = text.split("Grazie! 😀", reference=1).parts
    await esme.send(submit(2, part, data_coding=8))
    resp = await esme.next()
    assert (resp.command_id, resp.command_status, resp.body) == (pdu.SUBMIT_SM_RESP, 0, b"1a2b0\x00")
    [logged] = smsc.events("submit_sm")
    assert (logged["text"], logged["data_coding"], logged["udh"], logged["message_id"]) == ("Grazie! 😀", 8, None, "1a2b0")

    first = await esme.next()  # the receipt; left unanswered, then the line drops
    sm = pdu.decode_sm(first.data)
    assert (first.command_id, sm.esm_class, sm.source_addr, sm.destination_addr) == (pdu.DELIVER_SM, 4, "393331234567", "Postino")
    assert sm.short_message.startswith(b"id:1A2B0 sub:001 dlvrd:001 submit date:")
    assert b" stat:DELIVRD err:000 text:Grazie! ?" in sm.short_message
    assert pdu.tlv_map(sm.tlvs) == {pdu.TLV_RECEIPTED_MESSAGE_ID: b"1A2B0\x00", pdu.TLV_MESSAGE_STATE: b"\x02"}
    esme.close()

    esme = await Raw.open(smsc.port)
    await esme.bind()
    second = await esme.next()  # the same receipt, on the new bind
    assert second.body == first.body
    await esme.send(pdu.deliver_sm_resp(second.sequence_number, pdu.ESME_RX_T_APPN))
    third = await esme.next()  # a temporary error: it comes again
    assert third.body == first.body
    await esme.send(pdu.deliver_sm_resp(third.sequence_number))
    await wait_for(lambda: len(smsc.events("receipt")) == 2, message="two answers logged")
    assert [(e["message_id"], e["stat"], e["acked"]) for e in smsc.events("receipt")] == [
        ("1A2B0", "DELIVRD", False), ("1A2B0", "DELIVRD", True),
    ]
    esme.close()


async def test_concatenated_parts_get_a_receipt_each_and_undelivered_ones_say_so(start_smsc) -> None:
    smsc = await start_smsc("--deliver", "0", "--seed", "1")
    esme = await Raw.open(smsc.port)
    await esme.bind()
    encoded = text.split("x" * 200, reference=77)
    for seq, part in enumerate(encoded.parts, 2):
        await esme.send(submit(seq, part, esm_class=encoded.esm_class))
    await esme.send(submit(9, b"no receipt wanted", registered_delivery=0))
    frames = [await esme.next() for _ in range(5)]
    resps = [f for f in frames if f.command_id == pdu.SUBMIT_SM_RESP]
    receipts = [pdu.decode_sm(f.data) for f in frames if f.command_id == pdu.DELIVER_SM]
    assert [r.body for r in resps] == [b"1a2b0\x00", b"1a2b1\x00", b"1a2b2\x00"]
    assert [pdu.tlv_map(r.tlvs)[pdu.TLV_RECEIPTED_MESSAGE_ID] for r in receipts] == [b"1a2b0\x00", b"1a2b1\x00"]
    assert all(b"stat:UNDELIV err:001" in r.short_message for r in receipts)
    assert {pdu.tlv_map(r.tlvs)[pdu.TLV_MESSAGE_STATE] for r in receipts} == {b"\x05"}
    assert [e["udh"] for e in smsc.events("submit_sm")] == [
        {"ref": 77, "total": 2, "seq": 1}, {"ref": 77, "total": 2, "seq": 2}, None,
    ]
    esme.close()


async def test_inbound_commands_on_stdin_and_a_disconnect(start_smsc) -> None:
    smsc = await start_smsc()
    esme = await Raw.open(smsc.port)
    await esme.bind()
    await smsc.command(deliver={"from": "+393331234567", "to": "alberto", "text": "Sì, confermo 👍"})
    frame = await esme.next()
    sm = pdu.decode_sm(frame.data)
    assert (sm.source_addr, sm.source_addr_ton, sm.destination_addr, sm.dest_addr_ton) == ("393331234567", 1, "alberto", 5)
    assert (sm.esm_class, sm.data_coding, text.decode(8, 0, sm.short_message).text) == (0, 8, "Sì, confermo 👍")
    await esme.send(pdu.deliver_sm_resp(frame.sequence_number))
    await wait_for(lambda: smsc.events("deliver"), message="the deliver answered")
    [event] = smsc.events("deliver")
    assert (event["text"], event["udh"], event["acked"]) == ("Sì, confermo 👍", None, True)
    await smsc.command(disconnect=True)
    assert await esme.closed()
    await wait_for(lambda: smsc.events("disconnect"), message="the disconnect logged")
    await smsc.command(oops=1)
    await smsc.command(deliver={"from": "+39333"})
    await wait_for(lambda: len(smsc.events("error")) == 1, message="a bad command logged")


async def test_it_stops_cleanly_on_sigterm_and_refuses_bad_flags(tmp_path: Path) -> None:
    smsc = await Smsc(tmp_path, "--throttle-every", "3").start()
    assert smsc.port > 0
    assert smsc.proc is not None
    smsc.proc.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(smsc.proc.wait(), timeout=10) == 0
    bad = await asyncio.create_subprocess_exec(
        *postino_command("smsc", "simulate", "--port", "0", "--deliver", "2"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(bad.communicate(), timeout=30)
    assert bad.returncode == 1 and b"--deliver must be between 0 and 1" in err


async def test_an_inbound_message_asked_for_before_any_bind_waits_for_the_first(tmp_path: Path) -> None:
    smsc = await Smsc(tmp_path).start()  # no --system-id: anyone binds
    try:
        await smsc.command(deliver={"from": "+393331234567", "to": "4321", "text": "early"})
        esme = await Raw.open(smsc.port)
        assert (await esme.bind("anything")).command_status == pdu.ESME_ROK
        frame = await esme.next()
        sm = pdu.decode_sm(frame.data)
        assert (frame.command_id, sm.short_message, sm.destination_addr, sm.dest_addr_ton) == (pdu.DELIVER_SM, b"early", "4321", 3)
        esme.close()
    finally:
        await smsc.stop()
