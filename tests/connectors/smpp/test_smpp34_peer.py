"""The client against an SMSC that shares none of Postino's code: smpp34's own Server.

The simulator decodes with Postino's own text module, so a bug in the UDH or UCS-2
encoding would be invisible to it; an independent peer reads the bytes its own way.
"""

from __future__ import annotations

import asyncio

import smpp34

from postino.connectors.smpp import Outgoing, SmppClient, SmppConfig
from tests.support import free_port, wait_for

from .peers import Recorder, bound, running


async def test_a_two_part_ucs2_message_reaches_smpp34s_server_as_sent() -> None:
    port = free_port()
    server = smpp34.Server("127.0.0.1", port, system_id="peer")
    await server.start()
    handler = Recorder()
    # smpp34 1.5's Server leaves unbind_resp unsent once it has pushed a deliver_sm, so
    # the client's wait for it (at most the response timeout) is kept short here.
    config = SmppConfig("127.0.0.1", port, "postino", "secret1", reconnect_min_seconds=0.05, response_timeout_seconds=1)
    client = SmppClient(config, handler)
    # 86 characters, 87 UTF-16 units: two parts
    body = "Ciao Giulia! Il pacco è arrivato in negozio, passa pure quando vuoi 😀 A presto, Marco."
    try:
        async with running(client):
            esme = await asyncio.wait_for(server.next(), timeout=10)
            assert isinstance(esme, smpp34.Esme) and esme.system_id == "postino"
            await bound(client)
            sending = asyncio.create_task(client.submit(Outgoing("+393331234567", body, "Postino", reference=0x5A)))
            seen = []
            for message_id in ("peer-1", "peer-2"):
                event = await asyncio.wait_for(server.next(), timeout=10)
                assert isinstance(event, smpp34.SubmitSmEvent)
                seen.append(event)
                event.accept(message_id)
            assert await sending == ["peer-1", "peer-2"]
            answer = await esme.deliver_sm(
                "Postino", b"id:peer-2 sub:001 dlvrd:001 stat:DELIVRD err:000 text:", source_addr="393331234567",
                esm_class=0x04,
            )
            assert answer.is_success
            await wait_for(lambda: handler.receipts, message="the receipt")
            goodbye = asyncio.ensure_future(server.next())  # the server answers unbind while it is read
        assert isinstance(await asyncio.wait_for(goodbye, timeout=10), smpp34.Unbound)
    finally:
        await server.stop()
    assert [(e.source_addr, e.source_addr_ton, e.source_addr_npi) for e in seen] == [("Postino", 5, 0)] * 2
    assert [(e.destination_addr, e.dest_addr_ton, e.dest_addr_npi) for e in seen] == [("393331234567", 1, 1)] * 2
    assert [(e.data_coding, e.esm_class, e.registered_delivery) for e in seen] == [(8, 0x40, 1)] * 2
    assert [e.short_message[:6] for e in seen] == [bytes([5, 0, 3, 0x5A, 2, 1]), bytes([5, 0, 3, 0x5A, 2, 2])]
    assert [len(e.short_message) - 6 for e in seen] == [134, 40]  # 67 units, then 20
    assert "".join(e.short_message[6:].decode("utf-16-be") for e in seen) == body
    assert [(r.message_id, r.state) for r in handler.receipts] == [("peer-2", "delivered")]
