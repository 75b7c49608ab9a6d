"""Where a message goes when no phone was named: the least-queued phone with a slot for it."""

from __future__ import annotations

import pytest

from postino.core.accounts import accounts
from postino.core.devices import devices
from postino.core.messages import messages
from postino.core.routing import default


async def phone(core, account_id: int, name: str):  # noqa: ANN001, ANN201
    async with core.unit() as unit:
        device, _token = await devices.register(unit, account_id, name=name,
                                                sim_cards=[{"slotIndex": 0, "simNumber": 1}])
    return device


async def queue_for(core, account_id: int, device_id: int, count: int) -> None:  # noqa: ANN001
    async with core.unit() as unit:
        account = await accounts.get(unit, account_id)
        drafts = [messages.Draft(recipient=f"+39348{i:07d}", body="x", device_id=device_id) for i in range(count)]
        await messages.submit(unit, account, drafts)


async def targets(core, account_id: int, count: int) -> list[tuple[int | None, int | None]]:  # noqa: ANN001
    async with core.reader() as unit:
        return [(t.device_id, t.slot) for t in await default.plan(unit, account_id, "sms", count)]


async def test_one_phone_takes_every_message_without_counting_its_queue(core, alice, monkeypatch) -> None:  # noqa: ANN001
    only = await phone(core, alice.id, "pixel")
    await queue_for(core, alice.id, only.id, 20)

    async def counted(*_args):  # noqa: ANN002, ANN202
        raise AssertionError("one phone's queue was counted")

    monkeypatch.setattr(devices, "queued_counts", counted)
    assert await targets(core, alice.id, 3) == [(only.id, 0)] * 3


async def test_the_least_queued_phone_is_chosen_and_a_batch_is_spread(core, alice) -> None:  # noqa: ANN001
    busy = await phone(core, alice.id, "busy")
    idle = await phone(core, alice.id, "idle")
    await queue_for(core, alice.id, busy.id, 3)
    assert await targets(core, alice.id, 1) == [(idle.id, 0)]
    # the first message counts as idle's (the counts are a second old at most, plus what
    # was routed since): idle takes two more to catch up, then they alternate, ties to the lower id
    assert [d for d, _ in await targets(core, alice.id, 7)] == [idle.id] * 2 + [busy.id, idle.id] * 2 + [busy.id]


async def test_queue_lengths_are_read_again_after_a_second(core, alice, monkeypatch) -> None:  # noqa: ANN001
    first = await phone(core, alice.id, "first")
    second = await phone(core, alice.id, "second")
    reads = []
    original = devices.queued_counts

    async def counted(unit, ids):  # noqa: ANN001, ANN202
        reads.append(ids)
        return await original(unit, ids)

    monkeypatch.setattr(devices, "queued_counts", counted)
    for _ in range(5):
        await targets(core, alice.id, 1)
    assert reads == [[first.id, second.id]]
    core.cache.queue_lengths.clear()  # as a second later
    await queue_for(core, alice.id, first.id, 4)
    assert await targets(core, alice.id, 2) == [(second.id, 0)] * 2 and len(reads) == 2


async def test_no_phone_with_the_channel_is_no_route(core, alice) -> None:  # noqa: ANN001
    from postino.core.errors import NoRoute

    with pytest.raises(NoRoute):
        await targets(core, alice.id, 1)
