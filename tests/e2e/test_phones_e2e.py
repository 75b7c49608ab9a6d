"""A real ``postino serve`` and a real simulated phone process, talking HTTP.

Messages are queued through core straight into the shared database (the server's own
notifier does not hear that), so the phones run with a short ``--poll-every``: the
fallback pull a real phone also does. Everything else is the real protocol.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from postino.core.accounts import accounts
from postino.core.devices import devices
from postino.core.messages import messages
from postino.core.service import Core
from postino.db.tables import message_events
from postino.db.tables import messages as messages_table
from tests.support import ServerProcess, SimulatorProcess, wait_for

FAST = ("--latency", "10ms", "--poll-every", "200ms")


async def _device(core: Core, account_id: int) -> devices.Device:
    async with core.reader() as unit:
        (device,) = await devices.list_for(unit, account_id)
    return device


async def _queue(core: Core, account_id: int, device_id: int, *bodies: str) -> list[int]:
    async with core.unit() as unit:
        account = await accounts.get(unit, account_id)
        drafts = [messages.Draft(recipient="+393491234567", body=b, device_id=device_id, slot=0) for b in bodies]
        return (await messages.submit(unit, account, drafts)).ids


async def _states(core: Core, ids: list[int]) -> dict[int, str]:
    async with core.reader() as unit:
        rows = await unit.conn.execute(
            select(messages_table.c.id, messages_table.c.state).where(messages_table.c.id.in_(ids))
        )
        return {r.id: r.state for r in rows}


async def _events(core: Core, message_id: int) -> list[str]:
    async with core.reader() as unit:
        rows = await unit.conn.execute(
            select(message_events.c.state)
            .where(message_events.c.message_id == message_id)
            .order_by(message_events.c.id)
        )
        return list(rows.scalars())


async def _all_in(core: Core, ids: list[int], states: set[str]) -> bool:
    current = await _states(core, ids)
    return len(current) == len(ids) and set(current.values()) <= states


async def test_a_message_reaches_delivered_through_a_real_phone(core, alice, database_url, tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server", database_url).start()
    phone = SimulatorProcess(server.url, alice.device_registration_token, *FAST, workdir=tmp_path / "phone")
    try:
        phone.start()
        device = await _device(core, alice.id)
        assert device.ext_id == phone.device_ids[0]
        ok, failing, radio, replying = await _queue(
            core, alice.id, device.id, "hello", "this one #fail", "this one #fail:RESULT_ERROR_RADIO_OFF", "ping #reply"
        )
        await wait_for(lambda: _all_in(core, [ok, failing, radio, replying], {"delivered", "failed"}),
                       message="the phone to finish", timeout=20)
        assert await _events(core, ok) == ["queued", "assigned", "taken", "sent", "delivered"]
        assert await _events(core, failing) == ["queued", "assigned", "taken", "failed"]
        async with core.reader() as unit:
            failed = await messages.get(unit, alice.id, failing)
            radio_off = await messages.get(unit, alice.id, radio)
        assert (failed.reason, failed.error) == ("no_service", "RESULT_ERROR_NO_SERVICE")
        assert (radio_off.reason, radio_off.error) == ("radio_off", "RESULT_ERROR_RADIO_OFF")

        async def reply() -> list:
            async with core.reader() as unit:
                rows = await unit.conn.execute(
                    select(messages_table).where(
                        messages_table.c.account_id == alice.id, messages_table.c.direction == "in"
                    )
                )
                return list(rows)

        (answer,) = await wait_for(reply, message="the inbound reply", timeout=10)
        assert (answer.state, answer.body, answer.sender) == ("received", "Re: ping #reply", "+393491234567")
        assert (await _device(core, alice.id)).online(core.settings.offline_after_seconds)
    finally:
        phone.stop()
        server.stop()


async def test_killed_phone_messages_are_requeued_and_delivered_exactly_once(
    core, alice, database_url, tmp_path: Path
) -> None:
    server = ServerProcess(tmp_path / "server", database_url, "--lease-seconds", "1").start()
    workdir = tmp_path / "phone"
    slow = SimulatorProcess(server.url, alice.device_registration_token, "--take-delay", "60s", *FAST, workdir=workdir)
    try:
        slow.start()
        device = await _device(core, alice.id)
        ids = await _queue(core, alice.id, device.id, *[f"message {n}" for n in range(5)])
        await wait_for(lambda: _all_in(core, ids, {"assigned"}), message="the phone to pull them")
        slow.kill()  # it pulled them and never said a word
        await wait_for(lambda: _all_in(core, ids, {"queued"}), message="the leases to expire")
        again = SimulatorProcess(server.url, alice.device_registration_token, *FAST, workdir=workdir).start()
        try:
            assert again.device_ids == [device.ext_id]  # the saved registration was reused
            await wait_for(lambda: _all_in(core, ids, {"delivered"}), message="delivery after restart", timeout=20)
        finally:
            again.stop()
        for message_id in ids:
            events = await _events(core, message_id)
            assert events.count("delivered") == 1 and events.count("sent") == 1, events
            assert events[:3] == ["queued", "assigned", "queued"], events
        async with core.reader() as unit:
            assert len(await devices.list_for(unit, alice.id)) == 1
    finally:
        slow.kill()
        server.stop()


async def test_phone_killed_mid_send_resumes_from_its_state_file(core, alice, database_url, tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server", database_url).start()
    workdir = tmp_path / "phone"
    slow = SimulatorProcess(server.url, alice.device_registration_token, "--latency", "2s", "--poll-every", "200ms",
                            workdir=workdir)
    try:
        slow.start()
        device = await _device(core, alice.id)
        ids = await _queue(core, alice.id, device.id, "one", "two", "three")
        await wait_for(lambda: _all_in(core, ids, {"taken"}), message="the phone to take them")
        slow.kill()  # taken, not yet sent: only the phone's own memory knows
        again = SimulatorProcess(server.url, alice.device_registration_token, *FAST, workdir=workdir).start()
        try:
            await wait_for(lambda: _all_in(core, ids, {"delivered"}), message="delivery after restart", timeout=20)
        finally:
            again.stop()
        for message_id in ids:
            events = await _events(core, message_id)
            assert events == ["queued", "assigned", "taken", "sent", "delivered"], events
    finally:
        slow.kill()
        server.stop()


async def test_phone_survives_a_server_restart(core, alice, database_url, tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server", database_url).start()
    phone = SimulatorProcess(server.url, alice.device_registration_token, *FAST, workdir=tmp_path / "phone")
    try:
        phone.start()
        device = await _device(core, alice.id)
        server.kill()
        (before,) = await _queue(core, alice.id, device.id, "queued while the server was down")
        server.start()
        (after,) = await _queue(core, alice.id, device.id, "queued after the restart")
        await wait_for(lambda: _all_in(core, [before, after], {"delivered"}), message="delivery", timeout=20)
        assert phone.proc is not None and phone.proc.poll() is None
        async with core.reader() as unit:
            assert len(await devices.list_for(unit, alice.id)) == 1
    finally:
        phone.stop()
        server.stop()


async def test_phone_honours_the_delay_between_two_sms(core, alice, database_url, tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server", database_url).start()
    phone = SimulatorProcess(server.url, alice.device_registration_token, *FAST, workdir=tmp_path / "phone")
    try:
        phone.start()
        device = await _device(core, alice.id)
        async with core.unit() as unit:
            await devices.update_device(unit, device.id, delay_between_sms=1)
        phone.stop()
        phone.start()  # reads its settings again when it connects
        ids = await _queue(core, alice.id, device.id, "first", "second")
        await wait_for(lambda: _all_in(core, ids, {"delivered"}), message="delivery", timeout=20)
        async with core.reader() as unit:
            first, second = [await messages.get(unit, alice.id, i) for i in ids]
        assert (second.sent_at - first.sent_at).total_seconds() >= 0.9
    finally:
        phone.stop()
        server.stop()
