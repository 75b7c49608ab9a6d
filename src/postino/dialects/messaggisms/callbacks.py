"""``options.callback_url``: a summary of the message POSTed on each change of a recipient's state.

The listener runs inside the transaction of every lifecycle move, so a state change and
the callback announcing it are stored together (core's outbox sends it later, retrying).
Messages carry their callback URL in ``extra``: moves of messages without one cost nothing.
"""

from __future__ import annotations

from collections import defaultdict

from ...core.accounts import accounts
from ...core.events import outbox
from ...core.messages import batches, lifecycle
from ...core.messages.lifecycle import Moved
from ...core.service import Unit
from . import render

EVENT = "messaggisms.message"
ANNOUNCED = frozenset(
    {lifecycle.SENT, lifecycle.DELIVERED, lifecycle.UNDELIVERED, lifecycle.FAILED, lifecycle.EXPIRED, lifecycle.CANCELED}
)
"""Canonical states that change what a recipient shows (the others all read QUEUED)."""


async def announce(unit: Unit, moved: list[Moved]) -> None:
    by_batch: dict[int, list[Moved]] = defaultdict(list)
    for m in moved:
        if m.state in ANNOUNCED and m.batch_id is not None and m.extra and m.extra.get("callback_url"):
            by_batch[m.batch_id].append(m)
    if not by_batch:
        return
    found = await batches.by_ids(unit, list(by_batch))
    for batch_id, group in by_batch.items():
        batch = found.get(batch_id)
        if batch is None or batch.kind != render.KIND:
            continue
        account = await accounts.get(unit, batch.account_id)
        summary = render.message_object(batch, await batches.groups(unit, batch_id), account)
        rows = await batches.messages_by_ids(unit, [m.id for m in group])
        summary["changed"] = [render.recipient_object(batch, r) for r in rows]
        extra = group[0].extra or {}
        await outbox.enqueue(
            unit,
            account_id=batch.account_id,
            event=EVENT,
            url=extra["callback_url"],
            payload=summary,
            form_field=extra.get("callback_field") or None,
            order_key=f"msms:{batch.public_id}",
        )

