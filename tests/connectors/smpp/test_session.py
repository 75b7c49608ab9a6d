"""The SMPP session against the simulated SMSC, a real process on loopback."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections import Counter
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from postino.connectors.smpp import NotBound, Outgoing, Rejected, SmppClient, SmppConfig, id_key, id_keys, pdu
from tests.support import wait_for

from .peers import Recorder, bound, running

LONG = "Gentile cliente, la consegna del Suo ordine è prevista per domani tra le 9 e le 13. " * 4  # 3 parts


def message(i: int, text: str | None = None) -> Outgoing:
    return Outgoing("+393331234567", text or f"Il tuo codice è {i:06d}", "Postino", reference=i)


async def submit_all(
    client: SmppClient, messages: list[Outgoing], workers: int
) -> tuple[dict[int, list[str]], list[int]]:
    """Submit as the core does, ``workers`` at a time: the ids of each message, and the
    messages refused for a lost bind (each went again after the re-bind; none here had
    parts answered before the loss)."""
    ids: dict[int, list[str]] = {}
    queue = list(enumerate(messages))
    lost: list[int] = []

    async def worker() -> None:
        while queue:
            i, m = queue.pop(0)
            while True:
                try:
                    ids[i] = await client.submit(m)
                    break
                except NotBound as exc:
                    assert exc.accepted == []
                    lost.append(i)
                    await bound(client)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return ids, lost


async def test_binds_submits_200_through_the_window_and_hands_every_receipt(start_smsc) -> None:
    smsc = await start_smsc()
    handler = Recorder()
    client = SmppClient(smsc.config(window=10), handler)
    async with running(client):
        await bound(client)
        ids, lost = await submit_all(client, [message(i) for i in range(200)], workers=10)
        flat = [part for i in range(200) for part in ids[i]]
        assert len(flat) == 200 and len(set(flat)) == 200 and lost == []
        await wait_for(lambda: len(handler.receipts) == 200, message="200 receipts")
        assert client.window_in_use == 0
    assert {r.message_id for r in handler.receipts} == set(flat)
    assert {r.state for r in handler.receipts} == {"delivered"}
    submits = smsc.events("submit_sm")
    assert len(submits) == 200 and {e["status"] for e in submits} == {"ESME_ROK"}
    first = next(e for e in submits if e["text"] == "Il tuo codice è 000000")
    assert (first["source_addr"], first["source_addr_ton"], first["source_addr_npi"]) == ("Postino", 5, 0)
    assert (first["destination_addr"], first["data_coding"], first["esm_class"], first["udh"]) == ("393331234567", 0, 0, None)
    assert first["registered_delivery"] == 1 and first["message_id"] == ids[0][0]
    assert client.stats() | {"errors": None} == {
        "bind_state": "down", "window_in_use": 0, "submitted": 200, "errors": None, "receipts": 200, "inbound": 0,
        "last_error": None,
    }
    assert handler.binds == 1 and handler.unbinds == ["stopped"]
    assert smsc.events("unbind") == [{"event": "unbind", "system_id": "postino"}]


async def test_a_wrong_password_never_binds(start_smsc) -> None:
    smsc = await start_smsc()
    handler = Recorder()
    client = SmppClient(smsc.config(password="wrong", reconnect_min_seconds=30, reconnect_max_seconds=30), handler)
    async with running(client):
        await wait_for(lambda: smsc.events("bind"), message="a bind attempt")
        await wait_for(lambda: client.last_error is not None, message="the refusal")
        assert client.state == "down"
        assert client.last_error == "bind refused: ESME_RBINDFAIL"
        with pytest.raises(NotBound):
            await client.submit(message(1))
    assert smsc.events("bind") == [{"event": "bind", "system_id": "postino", "status": "ESME_RBINDFAIL"}]
    assert handler.binds == 0 and handler.unbinds == []


async def test_throttling_is_absorbed_and_every_part_is_accepted_once_in_order(start_smsc) -> None:
    smsc = await start_smsc("--throttle-every", "7")
    client = SmppClient(smsc.config(window=10), Recorder())
    messages = [message(i, LONG + str(i) if i % 5 == 0 else None) for i in range(60)]
    async with running(client):
        await bound(client)
        ids, _ = await submit_all(client, messages, workers=10)
    events = smsc.events("submit_sm")
    accepted = [e for e in events if e["status"] == "ESME_ROK"]
    throttled = [e for e in events if e["status"] == "ESME_RTHROTTLED"]
    assert len(accepted) == 60 + 12 * 2 and len(throttled) == len(events) // 7
    assert client.errors == Counter({"ESME_RTHROTTLED": len(throttled)})
    # every part reached the SMSC accepted exactly once, the parts of a message in order
    seen = Counter((e["text"], str(e["udh"])) for e in accepted)
    assert set(seen.values()) == {1}
    for i in range(0, 60, 5):
        parts = [e for e in accepted if e["udh"] and e["udh"]["ref"] == i]
        assert [p["udh"]["seq"] for p in parts] == [1, 2, 3]
        assert "".join(p["text"] for p in parts) == messages[i].text
        assert ids[i] == [p["message_id"] for p in parts]
    # a throttled part goes again ahead of parts not yet sent: at most the window between
    for t in throttled:
        where = events.index(t)
        again = next(j for j, e in enumerate(events) if e["status"] == "ESME_ROK" and e["text"] == t["text"]
                     and e["udh"] == t["udh"])
        assert where < again <= where + 2 * client.config.window


async def test_a_dropped_connection_fails_only_what_was_in_flight_and_rebinds(start_smsc) -> None:
    smsc = await start_smsc("--disconnect-after", "50")
    handler = Recorder()
    client = SmppClient(smsc.config(window=10), handler)
    async with running(client):
        await bound(client)
        ids, lost = await submit_all(client, [message(i) for i in range(200)], workers=10)
    events = smsc.events()
    cut = next(i for i, e in enumerate(events) if e["event"] == "disconnect")
    before = [e for e in events[:cut] if e["event"] == "submit_sm"]
    held = {e["text"] for e in before if e["status"] is None}
    answered = {e["text"] for e in before if e["status"] == "ESME_ROK"}
    lost_texts = {message(i).text for i in lost}
    assert len(held) == 5 and held <= lost_texts  # the SMSC held five; a few more were on the wire
    assert len(lost) == len(lost_texts) <= client.config.window
    assert not lost_texts & answered  # nothing answered was refused
    flat = [part for i in range(200) for part in ids[i]]
    assert len(flat) == 200 and len(set(flat)) == 200
    accepted = Counter(e["text"] for e in events if e["event"] == "submit_sm" and e["status"] == "ESME_ROK")
    assert len(accepted) == 200 and set(accepted.values()) == {1}
    assert [e["status"] for e in events if e["event"] == "bind"] == ["ESME_ROK", "ESME_ROK"]
    assert handler.binds == 2 and len(handler.unbinds) == 2 and handler.unbinds[1] == "stopped"


async def test_a_receipt_not_stored_is_answered_as_temporary_and_comes_again(start_smsc) -> None:
    smsc = await start_smsc()
    handler = Recorder()
    handler.fail_receipts = 1
    client = SmppClient(smsc.config(), handler)
    async with running(client):
        await bound(client)
        [mid] = await client.submit(message(1))
        await wait_for(lambda: handler.receipts, message="the receipt, the second time")
    assert [r.message_id for r in handler.seen] == [mid, mid]
    assert [(e["message_id"], e["acked"], e["status"]) for e in smsc.events("receipt")] == [
        (mid, False, "ESME_RX_T_APPN"), (mid, True, "ESME_ROK"),
    ]
    assert client.receipts == 1


async def test_a_receipt_unanswered_at_a_disconnect_comes_again_after_the_rebind(start_smsc) -> None:
    smsc = await start_smsc()
    handler = Recorder()
    handler.hold = asyncio.Event()
    client = SmppClient(smsc.config(), handler)
    async with running(client):
        await bound(client)
        [mid] = await client.submit(message(1))
        await wait_for(lambda: handler.seen, message="the receipt offered")
        await smsc.command(disconnect=True)
        await wait_for(lambda: handler.binds == 2 and client.state == "bound", message="the re-bind")
        handler.hold.set()
        await wait_for(lambda: smsc.events("receipt"), message="the receipt answered")
    assert [r.message_id for r in handler.receipts] == [mid, mid]  # stored twice; the core keeps it once
    assert [(e["message_id"], e["acked"]) for e in smsc.events("receipt")] == [(mid, True)]


async def test_receipts_naming_the_id_in_decimal_still_find_their_message(start_smsc) -> None:
    smsc = await start_smsc("--receipt-id-form", "decimal")
    handler = Recorder()
    client = SmppClient(smsc.config(), handler)
    async with running(client):
        await bound(client)
        ids = [(await client.submit(message(i)))[0] for i in range(5)]
        await wait_for(lambda: len(handler.receipts) == 5, message="5 receipts")
    keys = {key: mid for mid in ids for key in id_keys(mid)}
    assert {r.message_id for r in handler.receipts} == {str(int(mid, 16)) for mid in ids}
    assert sorted(keys[id_key(r.message_id)] for r in handler.receipts) == sorted(ids)


async def test_an_inbound_three_part_message_reaches_the_handler_as_three_parts(start_smsc) -> None:
    smsc = await start_smsc()
    handler = Recorder()
    client = SmppClient(smsc.config(), handler)
    text = "Buongiorno, vorrei spostare l'appuntamento di domani alle 10 a giovedì pomeriggio. " * 5
    async with running(client):
        await bound(client)
        await smsc.command(deliver={"from": "+393331234567", "to": "alberto", "text": text})
        await wait_for(lambda: len(handler.parts) == 3, message="3 inbound parts")
        await wait_for(lambda: len(smsc.events("deliver")) == 3, message="3 parts answered")
    parts = sorted(handler.parts, key=lambda p: p.concat.seq)
    assert [(p.concat.total, p.concat.seq) for p in parts] == [(3, 1), (3, 2), (3, 3)]
    assert len({p.concat.ref for p in parts}) == 1
    assert {(p.source, p.source_ton, p.destination, p.data_coding) for p in parts} == {("+393331234567", 1, "alberto", 0)}
    assert "".join(p.text for p in parts) == text
    assert all(e["acked"] for e in smsc.events("deliver")) and client.inbound == 3


async def test_a_refused_part_raises_with_the_parts_already_accepted(start_smsc) -> None:
    smsc = await start_smsc("--fail-every", "2")
    client = SmppClient(smsc.config(), Recorder())
    async with running(client):
        await bound(client)
        with pytest.raises(Rejected) as refused:
            await client.submit(message(1, LONG))
    assert (refused.value.status, refused.value.name) == (pdu.ESME_RSUBMITFAIL, "ESME_RSUBMITFAIL")
    [first] = [e for e in smsc.events("submit_sm") if e["status"] == "ESME_ROK"]
    assert refused.value.accepted == [first["message_id"]] and first["udh"]["seq"] == 1
    assert client.errors == Counter({"ESME_RSUBMITFAIL": 1})


async def test_bad_addresses_are_refused_before_anything_is_sent(start_smsc) -> None:
    smsc = await start_smsc()
    client = SmppClient(smsc.config(), Recorder())
    async with running(client):
        await bound(client)
        with pytest.raises(Rejected) as sender:
            await client.submit(Outgoing("+393331234567", "hi", "A sender far too long", reference=1))
        with pytest.raises(Rejected) as destination:
            await client.submit(Outgoing("not a number", "hi", "Postino", reference=1))
    assert (sender.value.name, destination.value.name) == ("ESME_RINVSRCADR", "ESME_RINVDSTADR")
    assert smsc.events("submit_sm") == []


async def test_source_ton_and_npi_of_the_connector_override_the_sender_rules(start_smsc) -> None:
    smsc = await start_smsc()
    client = SmppClient(smsc.config(source_ton=2, source_npi=1), Recorder())
    async with running(client):
        await bound(client)
        await client.submit(Outgoing("+393331234567", "hi", "+393330000000", reference=1))
    [e] = smsc.events("submit_sm")
    assert (e["source_addr"], e["source_addr_ton"], e["source_addr_npi"]) == ("393330000000", 2, 1)


async def test_the_messages_per_second_limit_spaces_the_submissions(start_smsc) -> None:
    smsc = await start_smsc()
    client = SmppClient(smsc.config(tps=20), Recorder())
    async with running(client):
        await bound(client)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(*(client.submit(message(i)) for i in range(12)))
        elapsed = loop.time() - started
    assert elapsed >= 0.45  # a burst of 2, then 10 more at 20 a second
    assert len(smsc.events("submit_sm")) == 12


async def test_an_smsc_that_stops_answering_is_dropped_after_the_response_timeout() -> None:
    """A peer that binds, then answers nothing: neither submit_sm nor enquire_link."""
    binds = 0

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal binds
        async for frame in pdu.frames(reader):
            if frame.command_id == pdu.BIND_TRANSCEIVER:
                binds += 1
                writer.write(pdu.bind_resp(frame.sequence_number, pdu.ESME_ROK, "mute"))

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    handler = Recorder()
    client = SmppClient(SmppConfig("127.0.0.1", port, "postino", "secret1", response_timeout_seconds=0.3,
                                   enquire_link_seconds=0.2, reconnect_min_seconds=0.05), handler)
    try:
        async with running(client):
            await bound(client)
            with pytest.raises(NotBound) as lost:
                await client.submit(message(1))
            assert lost.value.accepted == [] and "no response within 0.3 s" in str(lost.value)
            await wait_for(lambda: binds >= 2, message="a new bind")  # keepalive alone also drops it
            await wait_for(lambda: len(handler.unbinds) >= 2, message="the second drop, with no traffic")
    finally:
        server.close()
    assert handler.unbinds[:2] == ["no response within 0.3 s"] * 2


def _self_signed(where: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = where / "cert.pem", where / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


async def test_tls_binds_to_a_trusted_smsc_and_refuses_an_unknown_certificate(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)

    async def smsc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async for frame in pdu.frames(reader):
                if frame.command_id == pdu.BIND_TRANSCEIVER:
                    writer.write(pdu.bind_resp(frame.sequence_number, pdu.ESME_ROK, "tls"))
                elif frame.command_id == pdu.SUBMIT_SM:
                    writer.write(pdu.submit_sm_resp(frame.sequence_number, "tls-1"))
                elif frame.command_id == pdu.UNBIND:
                    writer.write(pdu.unbind_resp(frame.sequence_number))
        except (OSError, ssl.SSLError):
            pass

    serving = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    serving.load_cert_chain(cert, key)
    server = await asyncio.start_server(smsc, "127.0.0.1", 0, ssl=serving)
    port = server.sockets[0].getsockname()[1]
    try:
        trusted = SmppConfig("127.0.0.1", port, "postino", "secret1", tls=True,
                             ssl_context=ssl.create_default_context(cafile=cert))
        client = SmppClient(trusted, Recorder())
        async with running(client):
            await bound(client)
            assert await client.submit(message(1)) == ["tls-1"]
        unknown = SmppClient(SmppConfig("127.0.0.1", port, "postino", "secret1", tls=True,
                                        reconnect_min_seconds=30), Recorder())
        async with running(unknown):
            await wait_for(lambda: unknown.last_error, message="the certificate refused")
            assert unknown.state == "down" and "CERTIFICATE_VERIFY_FAILED" in unknown.last_error
    finally:
        server.close()
