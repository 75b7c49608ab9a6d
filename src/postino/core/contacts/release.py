"""Handing a campaign's drafts to the queue: inside its send window, at its pace, charged as they go.

Drafts are released in ``seq`` order from ``released_seq`` on, so a release reads only
what it hands out (``ix_messages_batch``). The pace is a token bucket on the campaign
row: ``pace`` tokens a minute, at most two seconds' worth held, one token per message;
so 600 a minute go out about ten a second, never in a burst of 600. Credit is taken at
release (the drafts were priced when written): a paused or canceled campaign is never
charged for what it did not send, nor for what no route could take (those fail
``rejected`` in ``queue.enter_queue``); an account that runs short pauses the campaign
with the reason instead of failing its remaining messages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from ...db.tables import campaigns, messages
from ..accounts import billing
from ..accounts.accounts import Account
from ..errors import CreditExpired, InsufficientCredit, InvalidInput
from ..messages import lifecycle, queue
from ..service import Unit

CHUNK = 5000
"""Drafts handed out per transaction at most (a pause takes effect before the next one)."""
RUNNING = "running"
PAUSED = "paused"


@dataclass(frozen=True)
class Released:
    count: int
    woken: set[int] = field(default_factory=set)
    paused_for: str | None = None
    """Why the release paused the campaign (credit), if it did."""


# --- the send window ------------------------------------------------------------------


def parse_window(text: str | None) -> tuple[int, int] | None:
    """``09:00-20:00`` as minutes after midnight; ``20:00-08:00`` spans midnight; empty: always."""
    if text is None or not text.strip():
        return None
    try:
        start_text, end_text = text.replace("–", "-").split("-")
        start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    except ValueError:
        raise InvalidInput("window must be HH:MM-HH:MM, e.g. 09:00-20:00", field="window") from None
    first, last = start.hour * 60 + start.minute, end.hour * 60 + end.minute
    if first == last:
        raise InvalidInput("window must not start and end at the same time", field="window")
    return first, last


def window_text(start: int | None, end: int | None) -> str | None:
    if start is None or end is None:
        return None
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def in_window(start: int | None, end: int | None, zone: ZoneInfo, now: datetime) -> bool:
    if start is None or end is None:
        return True
    local = now.astimezone(zone)
    minute = local.hour * 60 + local.minute
    return start <= minute < end if start < end else (minute >= start or minute < end)


# --- the pace -------------------------------------------------------------------------


def bucket_size(pace: int) -> float:
    return max(1.0, pace / 30)


def allowance(row: Any, now: datetime) -> tuple[int, float]:
    """How many drafts may go now, and the tokens in the bucket (unpaced: a chunk, no bucket)."""
    if row.pace is None:
        return CHUNK, 0.0
    size = bucket_size(row.pace)
    if row.paced_at is None:
        tokens = size
    else:
        elapsed = max(0.0, (now - row.paced_at).total_seconds())
        tokens = min(size, row.pace_tokens + elapsed * row.pace / 60)
    return min(CHUNK, math.floor(tokens + 1e-9)), tokens


# --- the release ----------------------------------------------------------------------


def hands_out_at_once(row: Any, account: Account, now: datetime) -> bool:
    """Would a draft written now be handed out now? No pace, inside the window, nothing waiting, a phone named.

    Then the expansion writes the page to the queue itself (``expansion``). Messages
    without a phone wait as drafts, so routing (``queue.enter_queue``) picks their way.
    """
    return (
        row.state == RUNNING
        and row.pace is None
        and row.device_id is not None
        and row.released >= row.written
        and in_window(row.window_start, row.window_end, account.zone, now)
    )


async def release(unit: Unit, row: Any, account: Account, now: datetime, *, limit: int = CHUNK) -> Released:
    """Hand out what ``row`` (a running campaign, locked by the caller) may send now."""
    if row.state != RUNNING or row.released >= row.written:
        return Released(0)
    if not in_window(row.window_start, row.window_end, account.zone, now):
        return Released(0)
    wanted, tokens = allowance(row, now)
    wanted = min(wanted, limit)
    if wanted <= 0:
        await _save_bucket(unit, row, tokens, now)
        return Released(0)
    drafts = (
        await unit.conn.execute(
            select(messages.c.id, messages.c.seq)
            .where(
                messages.c.batch_id == row.batch_id,
                messages.c.seq >= row.released_seq,
                messages.c.state == lifecycle.DRAFT,
            )
            .order_by(messages.c.seq)
            .limit(wanted)
        )
    ).all()
    if not drafts:
        # Written drafts that are no longer drafts (canceled one by one elsewhere): nothing left to hand out.
        await unit.conn.execute(update(campaigns).where(campaigns.c.id == row.id).values(released=row.written))
        return Released(0)
    ids = [d.id for d in drafts]
    try:
        async with unit.conn.begin_nested():
            woken = await queue.enter_queue(unit, ids)
            await _charge(unit, account, row, ids)
    except (InsufficientCredit, CreditExpired) as exc:  # the savepoint took the hand-out back
        await unit.conn.execute(
            update(campaigns).where(campaigns.c.id == row.id).values(state=PAUSED, error=exc.message, updated_at=now)
        )
        return Released(0, paused_for=exc.message)
    await unit.conn.execute(
        update(campaigns)
        .where(campaigns.c.id == row.id)
        .values(
            released=campaigns.c.released + len(drafts),
            released_seq=drafts[-1].seq + 1,
            pace_tokens=max(0.0, tokens - len(drafts)),
            paced_at=now,
            updated_at=now,
        )
    )
    return Released(len(drafts), woken)


async def _charge(unit: Unit, account: Account, row: Any, ids: list[int]) -> None:
    """Debit what went to the queue (at the price written with each draft); what no route took is not charged."""
    costs = (
        await unit.conn.execute(
            select(messages.c.product, func.sum(messages.c.price))
            .where(messages.c.id.in_(ids), messages.c.state == lifecycle.QUEUED)
            .group_by(messages.c.product)
        )
    ).all()
    for product, amount in costs:
        await billing.debit(unit, account.id, product, Decimal(amount), enforce=account.credit_enforced,
                            batch_id=row.batch_id, note=f"campaign {row.id}")  # fmt: skip


async def _save_bucket(unit: Unit, row: Any, tokens: float, now: datetime) -> None:
    await unit.conn.execute(
        update(campaigns).where(campaigns.c.id == row.id).values(pace_tokens=tokens, paced_at=now)
    )
