"""Channel fallback: a WhatsApp message that cannot reach its user goes once as SMS.

A route may name a fallback channel (``routes add --fallback sms --fallback-after N``).
Each message it takes is watched (a ``fallbacks`` row, written with the message): if it
fails as ``invalid_destination`` (not on WhatsApp) or ``window_closed`` (no template
outside the 24-hour window), or is not delivered within N seconds, a new SMS to the same
number with the same text is accepted through the account's SMS routes (or phones),
linked by ``fallback_of`` and billed as SMS. Each message is sent again once at most.

The listener only marks a row due; the SMS is written by the scheduler job in a unit of
its own, so a receipt's transaction never waits on routing or billing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from ...db.tables import fallbacks, messages
from ..accounts import accounts
from ..clock import utcnow
from ..errors import CreditExpired, InsufficientCredit, InvalidInput, NoRoute
from ..messages import lifecycle
from ..service import Unit

REASONS = frozenset({"invalid_destination", "window_closed"})
"""Failures that send the fallback at once (others wait for the time limit, if the route set one)."""
WAITING, DONE, SKIPPED, REFUSED = "waiting", "done", "skipped", "refused"
BATCH = 200


async def hear_moves(unit: Unit, moved: list[lifecycle.Moved]) -> None:
    """Transition listener: settle or bring forward the watch of WhatsApp messages that moved."""
    watched = [m for m in moved if m.product == "wa" and m.state in (lifecycle.DELIVERED, lifecycle.READ)
               or m.product == "wa" and m.state in lifecycle.FAILURES]  # fmt: skip
    if not watched:
        return
    now = utcnow()
    delivered = [m.id for m in watched if m.state in (lifecycle.DELIVERED, lifecycle.READ)]
    at_once = [m.id for m in watched if m.state in lifecycle.FAILURES and m.reason in REASONS]
    other = [m.id for m in watched if m.state in lifecycle.FAILURES and m.reason not in REASONS]
    waiting = fallbacks.c.state == WAITING
    if delivered:
        await unit.conn.execute(
            update(fallbacks).where(fallbacks.c.message_id.in_(delivered), waiting)
            .values(state=SKIPPED, detail="delivered")
        )  # fmt: skip
    if at_once:
        await unit.conn.execute(update(fallbacks).where(fallbacks.c.message_id.in_(at_once), waiting).values(due_at=now))
    if other:  # no time limit: nothing will bring it forward any more
        await unit.conn.execute(
            update(fallbacks).where(fallbacks.c.message_id.in_(other), waiting, fallbacks.c.due_at.is_(None))
            .values(state=SKIPPED, detail="failed, not for a fallback reason")
        )  # fmt: skip


async def send_due(unit: Unit, now: datetime | None = None) -> set[int] | None:
    """Scheduler job: the fallback of every watched message whose time has come."""
    now = now or utcnow()
    due = (
        await unit.conn.execute(
            select(fallbacks.c.message_id, fallbacks.c.account_id, fallbacks.c.channel)
            .where(fallbacks.c.state == WAITING, fallbacks.c.due_at <= now)
            .order_by(fallbacks.c.due_at)
            .limit(BATCH)
        )
    ).all()
    for row in due:
        await _settle(unit, row, now)
    return None


async def _settle(unit: Unit, row: Any, now: datetime) -> None:
    from ..messages import messages as messages_mod  # messages routes through this package

    original = (await unit.conn.execute(select(messages).where(messages.c.id == row.message_id))).one()
    settled = update(fallbacks).where(fallbacks.c.message_id == row.message_id, fallbacks.c.state == WAITING)
    if original.state in (lifecycle.DELIVERED, lifecycle.READ):
        await unit.conn.execute(settled.values(state=SKIPPED, detail="delivered"))
        return
    account = await accounts.get(unit, row.account_id)
    draft = messages_mod.Draft(
        recipient=original.recipient, recipient_raw=original.recipient_raw, body=_text_of(original),
        channel=row.channel, urgent=original.urgent, customer_id=original.customer_id, fallback_of=original.id,
    )  # fmt: skip
    try:  # each refusal comes before submit writes anything
        accepted = await messages_mod.submit(unit, account, [draft])
    except (NoRoute, InsufficientCredit, CreditExpired, InvalidInput) as exc:
        await unit.conn.execute(settled.values(state=REFUSED, detail=str(exc)[:200]))
        return
    if original.state in lifecycle.PENDING:  # it never went: it must not go after its stand-in
        await lifecycle.move(unit, [original.id], lifecycle.EXPIRED, reason="timeout",
                             error=f"not sent in time: sent as {row.channel} (message {accepted.ids[0]})", at=now)  # fmt: skip
    await unit.conn.execute(settled.values(state=DONE, fallback_message_id=accepted.ids[0], detail=original.state))


def _text_of(original: Any) -> str:
    """What the SMS says: the WhatsApp text, a media message's caption and link."""
    body = original.body or ""
    if original.media_url:
        return f"{body}\n{original.media_url}".strip()
    return body


async def links(unit: Unit, account_id: int, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """For each of ``ids`` that has one: its fallback (``fallback``: the row) or what it stands in for."""
    if not ids:
        return {}
    found: dict[int, dict[str, Any]] = {}
    rows = await unit.conn.execute(
        select(fallbacks).where(fallbacks.c.message_id.in_(ids), fallbacks.c.account_id == account_id)
    )
    for r in rows:
        found.setdefault(r.message_id, {})["fallback"] = {
            "channel": r.channel, "state": r.state, "message_id": r.fallback_message_id, "detail": r.detail,
            "due_at": r.due_at,
        }  # fmt: skip
    rows = await unit.conn.execute(
        select(messages.c.id, messages.c.fallback_of)
        .where(messages.c.id.in_(ids), messages.c.account_id == account_id, messages.c.fallback_of.is_not(None))
    )  # fmt: skip
    for r in rows:
        found.setdefault(r.id, {})["fallback_of"] = r.fallback_of
    return found


async def stand_ins(unit: Unit, ids: Sequence[int]) -> dict[int, Any]:
    """The fallback message row of each of ``ids`` that has one: a dialect reports the pair's outcome by it."""
    if not ids:
        return {}
    rows = await unit.conn.execute(
        select(fallbacks.c.message_id, messages)
        .join(messages, messages.c.id == fallbacks.c.fallback_message_id)
        .where(fallbacks.c.message_id.in_(ids), fallbacks.c.state == DONE)
    )
    return {r.message_id: r for r in rows}
