"""A campaign to 100,000 contacts: exactly one message per distinct number that has not opted out, in bounded memory."""

from __future__ import annotations

import time
import tracemalloc

from sqlalchemy import func, select

from postino.core.contacts import campaigns
from postino.db.tables import campaign_recipients, messages

from ..conftest import ENGINE
from .helpers import bulk_contacts, bulk_optouts, drive, new_list, number, phone

DISTINCT = 100_000
LISTS = ((0, 50_000), (35_000, 80_000), (65_000, 100_000))  # 130,000 entries: 30,000 numbers are in two lists
OPTED_OUT = range(7, DISTINCT, 100)  # 1,000 numbers
MEMORY_BOUND = 40 * 1024 * 1024
"""Peak Python memory of the whole expansion (tracemalloc): one page is a few MB; the
100,000 numbers held at once would be well over 100 MB."""


async def test_100000_contacts_in_3_overlapping_lists_give_one_message_per_distinct_number(core, alice) -> None:  # noqa: ANN001
    device = await phone(core, alice.id)
    tags = [await new_list(core, alice.id, f"List {n}") for n in range(len(LISTS))]
    for tag, (first, last) in zip(tags, LISTS):
        await bulk_contacts(core, alice.id, tag, (number(i) for i in range(first, last)))
    await bulk_optouts(core, alice.id, (number(i) for i in OPTED_OUT))

    started = time.monotonic()
    tracemalloc.start()
    try:
        async with core.unit() as unit:
            campaign, _woken = await campaigns.create_campaign(
                unit, alice.id, title="Spring", body="Spring sale!", tag_ids=tags, device_id=device
            )
        await drive(core)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.monotonic() - started

    expected = DISTINCT - len(OPTED_OUT)
    async with core.reader() as unit:
        shown = await campaigns.show(unit, alice.id, campaign.id)
        written = await unit.conn.scalar(select(func.count()).where(messages.c.batch_id == campaign.batch_id))
        distinct = await unit.conn.scalar(
            select(func.count(func.distinct(messages.c.recipient))).where(messages.c.batch_id == campaign.batch_id)
        )
        seqs = (await unit.conn.execute(
            select(func.min(messages.c.seq), func.max(messages.c.seq)).where(messages.c.batch_id == campaign.batch_id)
        )).one()  # fmt: skip
        opted = await unit.conn.scalar(
            select(func.count()).where(messages.c.batch_id == campaign.batch_id,
                                       messages.c.recipient.in_([number(i) for i in OPTED_OUT]))
        )  # fmt: skip
        recipients = await unit.conn.scalar(
            select(func.count()).where(campaign_recipients.c.campaign_id == campaign.id)
        )
    assert written == distinct == expected and opted == 0
    assert tuple(seqs) == (0, expected - 1)  # positions 0..n-1: no gap
    assert recipients == DISTINCT  # every number once, messaged or opted out
    assert (shown["state"], shown["total"], shown["queued"], shown["opted_out"], shown["duplicates_skipped"]) == (
        "running", expected, expected, len(OPTED_OUT), 130_000 - DISTINCT
    )
    assert peak < MEMORY_BOUND, f"expansion peaked at {peak / 1e6:.1f} MB"
    print(f"\n{ENGINE}: {expected:,} messages in {elapsed:.1f} s, peak Python memory {peak / 1e6:.1f} MB")
