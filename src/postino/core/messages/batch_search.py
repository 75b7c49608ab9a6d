"""Batches found by what their messages are doing, with their messages and events read at once.

For APIs whose one "message" is a batch of per-recipient messages (one request to many
numbers): list an account's batches of a kind by creation time, phone and state, page
them with a total, and load the messages and state history of a whole page in two
queries instead of two per batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select

from ...db.tables import batches, message_events, messages
from ..service import Unit

MAX_PAGE = 500


@dataclass(frozen=True)
class Found:
    total: int
    rows: list[Any]


async def search(
    unit: Unit,
    account_id: int,
    kind: str,
    *,
    created_from: datetime | None = None,
    created_before: datetime | None = None,
    device_id: int | None = None,
    with_states: Collection[str] | None = None,
    without_states: Collection[str] | None = None,
    newest_first: bool = True,
    offset: int = 0,
    limit: int = 50,
) -> Found:
    """The account's batches of ``kind`` that match, one page of them and how many in all.

    ``device_id``: some message of the batch goes through that phone. ``with_states``:
    some message is in one of these states; ``without_states``: none is. Together they
    say "the least advanced message is in state X" without storing a batch state.
    """

    def has(*clauses: Any) -> Any:
        return exists().where(messages.c.batch_id == batches.c.id, *clauses)

    where: list[Any] = [batches.c.account_id == account_id, batches.c.kind == kind]
    if created_from is not None:
        where.append(batches.c.created_at >= created_from)
    if created_before is not None:
        where.append(batches.c.created_at < created_before)
    if device_id is not None:
        where.append(has(messages.c.device_id == device_id))
    if with_states is not None:
        where.append(has(messages.c.state.in_(sorted(with_states))))
    if without_states:
        where.append(~has(messages.c.state.in_(sorted(without_states))))
    total = int(await unit.conn.scalar(select(func.count()).select_from(batches).where(and_(*where))) or 0)
    order = (batches.c.created_at.desc(), batches.c.id.desc()) if newest_first else (batches.c.created_at, batches.c.id)
    limit = max(0, min(limit, MAX_PAGE))
    rows = (
        await unit.conn.execute(select(batches).where(*where).order_by(*order).offset(max(0, offset)).limit(limit))
    ).all()
    return Found(total, list(rows))


async def messages_of(unit: Unit, batch_ids: list[int]) -> dict[int, list[Any]]:
    """Each batch's messages in the order they were given."""
    found: dict[int, list[Any]] = {b: [] for b in batch_ids}
    if not batch_ids:
        return found
    rows = (
        await unit.conn.execute(
            select(messages).where(messages.c.batch_id.in_(batch_ids)).order_by(messages.c.seq, messages.c.id)
        )
    ).all()
    for row in rows:
        found[row.batch_id].append(row)
    return found


async def events_of(unit: Unit, message_ids: list[int]) -> dict[int, list[tuple[str, datetime]]]:
    """Each message's (state, time) history, oldest first."""
    found: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for start in range(0, len(message_ids), 500):
        chunk = message_ids[start : start + 500]
        rows = (
            await unit.conn.execute(
                select(message_events.c.message_id, message_events.c.state, message_events.c.at)
                .where(message_events.c.message_id.in_(chunk))
                .order_by(message_events.c.id)
            )
        ).all()
        for row in rows:
            found[row.message_id].append((row.state, row.at))
    return found
