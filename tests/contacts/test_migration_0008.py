"""Migration 0008: campaigns started before it (all their messages queued at once) carry on as running ones."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import bindparam, text

from postino.core.contacts import campaigns
from postino.db.migrate import current_revision, downgrade, upgrade
from postino.db.types import UTCDateTime

from .helpers import new_list


async def test_a_started_campaign_becomes_running_with_everything_counted_as_handed_out(core, alice) -> None:  # noqa: ANN001
    tag = await new_list(core, alice.id, "Old")
    await downgrade(core.db, "0007")
    async with core.db.begin() as conn:
        await conn.execute(text(
            "INSERT INTO campaigns (account_id, title, body, channel, tag_ids, send_at, state, contacts, created_at)"
            " VALUES (:a, 'Old', 'Hi', 'sms', :tags, :at, 'started', 3, :at)"
        ).bindparams(bindparam("at", type_=UTCDateTime())), {"a": alice.id, "tags": f"[{tag}]",
                                                            "at": datetime(2026, 1, 5, 10, tzinfo=timezone.utc)})  # fmt: skip
    await upgrade(core.db, "0008")
    async with core.reader() as unit:
        assert await current_revision(unit.conn) == "0008"
        (old,), _next = await campaigns.list_campaigns(unit, alice.id)
        row = (await unit.conn.execute(text("SELECT written, released, released_seq, options FROM campaigns"))).one()
    assert (old.state, old.expanded, old.total, old.written, old.released) == ("running", True, 3, 3, 3)
    assert (row.released_seq, row.options in ("{}", {})) == (3, True)
    await downgrade(core.db, "0007")
    async with core.db.begin() as conn:
        assert (await conn.execute(text("SELECT state FROM campaigns"))).scalar_one() == "started"
    await upgrade(core.db)
