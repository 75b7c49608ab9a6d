"""What a connector reports back: parts submitted, receipts, messages given back.

A carrier names each submitted part by an id of its own (SMPP's ``submit_sm_resp``). It is
stored normalised, and a receipt is looked up under every form its id may take (SMSCs
write one id in hex in one PDU and in decimal in the other: the connector says which
forms), so a receipt that comes after a restart, or to another node, still finds its
message. A receipt that comes before its id is stored (a
fast SMSC, another node's transaction not yet committed) is kept in ``smsc_receipts``
and matched when the id is (``match_waiting_receipts`` runs each tick).

A long message is delivered when every part is; one part that fails fails it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy import text as sql

from ...db.tables import connectors, inbound_parts, smsc_ids, smsc_receipts
from ..clock import utcnow
from ..service import Unit
from . import lifecycle
from .inbound import receive_from_connector

FINAL_RECEIPTS: dict[str, tuple[str, str | None]] = {
    "delivered": (lifecycle.DELIVERED, None),
    "undelivered": (lifecycle.UNDELIVERED, "generic"),
    "expired": (lifecycle.UNDELIVERED, "timeout"),
    "rejected": (lifecycle.UNDELIVERED, "rejected"),
    "deleted": (lifecycle.UNDELIVERED, "generic"),
    "unknown": (lifecycle.UNDELIVERED, "generic"),
    "read": (lifecycle.READ, None),  # WhatsApp: the user opened it
    "failed": (lifecycle.FAILED, "generic"),  # WhatsApp: the Cloud API gave up on it (the receipt names the reason)
}
"""Receipt state -> (message state, reason). ``accepted`` / ``enroute`` / ``sent`` are not final: no move."""

KEEP_UNMATCHED = timedelta(days=3)
"""Unmatched receipts are kept this long (to look into); they are tried again only for ``RETRY_UNMATCHED``."""
RETRY_UNMATCHED = timedelta(minutes=10)


@dataclass(frozen=True)
class Submitted:
    """One message the carrier answered: its id per part, each as its forms (the normalised one first)."""

    message_id: int
    ids: Sequence[str]
    keys: Sequence[Sequence[str]]
    parts: int
    error: str | None = None
    """Set when fewer parts than ``parts`` were answered (the rest were not sent)."""


@dataclass(frozen=True)
class Receipt:
    connector_id: int
    key: str
    state: str
    """One of ``FINAL_RECEIPTS`` or a state that is not final (``accepted``, ``enroute``)."""
    stat: str
    error: str = ""
    scope: tuple[int, ...] = ()
    """Connectors whose ids this receipt may name: those bound to the same SMSC account
    (an SMSC sends a receipt on any bind of its system_id). Empty: only ``connector_id``."""
    forms: tuple[str, ...] = ()
    """Every form of the receipt's id (``key`` first); empty: ``key`` alone."""
    reason: str | None = None
    """The failure reason when the carrier says which (WhatsApp's ``window_closed``); else the state's."""

    def connectors(self) -> tuple[int, ...]:
        return self.scope or (self.connector_id,)

    def all_forms(self) -> tuple[str, ...]:
        return tuple(f[:80] for f in (self.forms or (self.key,)))


async def submitted(
    unit: Unit, connector_id: int, done: Sequence[Submitted], *, scope: Sequence[int] = (), early: bool = True
) -> list[lifecycle.Moved]:
    """Store the carrier's ids and move the messages to ``sent``; early receipts are applied.

    ``scope``: the connectors bound to the same SMSC account (``Receipt.scope``), on whose
    binds an early receipt may have come. ``early=False`` skips looking for them (the
    caller saw none lately; ``match_waiting_receipts`` still finds any within a tick)."""
    if not done:
        return []
    now = utcnow()
    rows = []
    forms: list[str] = []
    for item in done:
        for part, (raw, keys) in enumerate(zip(item.ids, item.keys)):
            forms.extend(keys)
            rows.append(
                {
                    "connector_id": connector_id, "key": keys[0][:80], "raw": raw[:80], "message_id": item.message_id,
                    "part": part, "parts": item.parts, "state": None, "created_at": now,
                }
            )  # fmt: skip
    if rows:
        await unit.conn.execute(insert(smsc_ids), rows)
    moved = await lifecycle.move(unit, [d.message_id for d in done], lifecycle.SENT, at=now)
    if early:
        await _apply_waiting(unit, tuple(scope) or (connector_id,), sorted({f[:80] for f in forms}))
    return moved


async def give_back(unit: Unit, ids: Sequence[int], detail: str) -> list[lifecycle.Moved]:
    """Messages the carrier never answered go back to the queue, to be submitted again."""
    return await lifecycle.move(unit, ids, lifecycle.QUEUED, only_from=[lifecycle.ASSIGNED], detail=detail)


async def refused(unit: Unit, ids: Sequence[int], *, reason: str, error: str) -> list[lifecycle.Moved]:
    """Messages the carrier refused for good fail with the carrier's error."""
    return await lifecycle.move(unit, ids, lifecycle.FAILED, reason=reason, error=error)


async def receipts(unit: Unit, found: Sequence[Receipt]) -> list[bool]:
    """Apply receipts; for each, whether it matched a stored id (else it waits in ``smsc_receipts``).

    Set-based: one read finds every id, and the messages that end in the same state move
    together (one update, one round of listeners), so a carrier sending thousands of
    receipts a second costs a few statements per batch, not per receipt.
    """
    if not found:
        return []
    now = utcnow()
    hits: dict[tuple[tuple[int, ...], str], list[Any]] = {}
    scopes = {r.connectors() for r in found}
    for scope in scopes:
        keys = sorted({f for r in found if r.connectors() == scope for f in r.all_forms()})
        for start in range(0, len(keys), 500):
            rows = await unit.conn.execute(
                select(smsc_ids.c.connector_id, smsc_ids.c.key, smsc_ids.c.message_id, smsc_ids.c.part,
                       smsc_ids.c.parts)
                .where(smsc_ids.c.connector_id.in_(scope), smsc_ids.c.key.in_(keys[start : start + 500]))
            )  # fmt: skip
            for row in rows:
                hits.setdefault((scope, row.key), []).append(row)
    matched: list[bool] = []
    waiting = []
    single: dict[tuple[str, str | None, str], list[int]] = {}
    for receipt in found:
        scope = receipt.connectors()
        found_rows = [row for form in receipt.all_forms() for row in hits.get((scope, form), ())]
        if not found_rows:
            matched.append(False)
            waiting.append(
                {
                    "connector_id": receipt.connector_id, "key": receipt.key[:80],
                    "forms": " ".join(receipt.all_forms())[:250], "stat": receipt.stat[:16],
                    "error": receipt.error[:64], "reason": receipt.reason, "created_at": now,
                }
            )  # fmt: skip
            continue
        matched.append(True)
        # The same id under two forms of two messages is not expected; take the newest.
        hit = max(found_rows, key=lambda h: h.message_id)
        target = FINAL_RECEIPTS.get(receipt.state)
        if target is None:
            continue
        if hit.parts > 1:
            await _apply(unit, hit.message_id, hit.part, hit.parts, receipt, now)
        else:
            reason = (receipt.reason or target[1]) if target[1] else None
            single.setdefault((target[0], reason, _detail(receipt.stat, receipt.error)), []).append(hit.message_id)
    for (state, reason, detail), ids in single.items():
        await lifecycle.move(unit, ids, state, reason=reason, error=detail if reason else None, detail=detail, at=now)
    if waiting:
        await unit.conn.execute(insert(smsc_receipts), waiting)
    return matched


def _detail(stat: str, error: str) -> str:
    return f"receipt {stat}" + (f" err:{error}" if error else "")


async def _apply(unit: Unit, message_id: int, part: int, parts: int, receipt: Receipt, now: datetime) -> None:
    state, stat = receipt.state, receipt.stat
    target = FINAL_RECEIPTS.get(state)
    if target is None:
        return
    message_state, reason = target
    reason = (receipt.reason or reason) if reason else None
    detail = _detail(stat, receipt.error)
    if parts > 1:
        await unit.conn.execute(
            update(smsc_ids).where(smsc_ids.c.message_id == message_id, smsc_ids.c.part == part).values(state=state)
        )
        if message_state == lifecycle.DELIVERED:
            done = await unit.conn.scalar(
                select(func.count(func.distinct(smsc_ids.c.part))).where(
                    smsc_ids.c.message_id == message_id, smsc_ids.c.state == "delivered"
                )
            )
            if int(done or 0) < parts:
                return
            detail = f"receipt {stat} for each of {parts} parts"
    await lifecycle.move(
        unit, [message_id], message_state, reason=reason, error=detail if reason else None, detail=detail, at=now
    )


async def _apply_waiting(unit: Unit, scope: tuple[int, ...], keys: list[str]) -> None:
    """Receipts that came before these ids were stored are applied now."""
    if not keys:
        return
    early = (
        await unit.conn.execute(
            select(smsc_receipts).where(smsc_receipts.c.connector_id.in_(scope), smsc_receipts.c.key.in_(keys))
        )
    ).all()
    if early:
        await _match_rows(unit, early, lambda _: scope)


async def _match_rows(unit: Unit, rows: Sequence[Any], scope_of: Any) -> int:
    matched = 0
    now = utcnow()
    for row in rows:
        receipt = Receipt(row.connector_id, row.key, _state_of(row.stat), row.stat, row.error,
                          forms=tuple((row.forms or row.key).split()), reason=row.reason)  # fmt: skip
        hits = (
            await unit.conn.execute(
                select(smsc_ids.c.message_id, smsc_ids.c.part, smsc_ids.c.parts).where(
                    smsc_ids.c.connector_id.in_(scope_of(row)), smsc_ids.c.key.in_(receipt.all_forms())
                )
            )
        ).all()
        if hits:
            message_id, part, parts = max(hits, key=lambda h: h.message_id)
            await _apply(unit, message_id, part, parts, receipt, now)
            await unit.conn.execute(delete(smsc_receipts).where(smsc_receipts.c.id == row.id))
            matched += 1
    return matched


STAT_STATES = {
    "DELIVRD": "delivered", "UNDELIV": "undelivered", "EXPIRED": "expired", "REJECTD": "rejected",
    "DELETED": "deleted", "UNKNOWN": "unknown", "ACCEPTD": "accepted", "ENROUTE": "enroute",
    "SENT": "sent", "DELIVERED": "delivered", "READ": "read", "FAILED": "failed",  # WhatsApp statuses
}  # fmt: skip


def _state_of(stat: str) -> str:
    return STAT_STATES.get(stat.upper(), "unknown")


async def match_waiting_receipts(unit: Unit, now: datetime | None = None) -> int:
    """Scheduler job: receipts kept unmatched find their ids stored since; old ones are dropped.

    Here a receipt may match an id of any connector of its account: the bind it came on
    and the one that submitted may differ, and this late pass does not know which binds
    share an SMSC account (the worker that got it did, and tried those first).
    """
    now = now or utcnow()
    await unit.conn.execute(delete(smsc_receipts).where(smsc_receipts.c.created_at < now - KEEP_UNMATCHED))
    rows = (
        await unit.conn.execute(
            select(smsc_receipts)
            .where(smsc_receipts.c.created_at >= now - RETRY_UNMATCHED)
            .order_by(smsc_receipts.c.id)
            .limit(1000)
        )
    ).all()
    if not rows:
        return 0
    accounts = {
        r.id: r.account_id
        for r in await unit.conn.execute(select(connectors.c.id, connectors.c.account_id))
    }
    by_account: dict[int, tuple[int, ...]] = {}
    for connector_id, account_id in accounts.items():
        by_account[account_id] = (*by_account.get(account_id, ()), connector_id)
    return await _match_rows(unit, rows, lambda row: by_account.get(accounts.get(row.connector_id, -1), ()))


def _lock_key(connector_id: int, source: str, ref: int) -> int:
    """A stable signed 64-bit key for one long inbound message (PostgreSQL advisory locks)."""
    digest = hashlib.blake2b(f"inbound:{connector_id}:{source}:{ref}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def inbound(
    unit: Unit,
    account_id: int,
    connector_id: int,
    *,
    source: str,
    destination: str,
    text: str,
    concat: tuple[int, int, int] | None = None,
) -> int | None:
    """An inbound message from a carrier; a part of a long one waits for the others.

    ``concat`` is (reference, total, sequence). Parts are kept in ``inbound_parts`` until
    the last one arrives (in any order, across restarts and nodes); then the message is
    stored whole and the parts dropped. Returns the stored message's id, None while parts
    are missing. A repeated part (an SMSC resending after a lost answer) changes nothing.
    """
    if concat is None or concat[1] <= 1:
        return await receive_from_connector(
            unit, account_id, connector_id, sender=source, body=text, recipient=destination
        )
    ref, total, seq = concat
    if unit.is_postgres:  # parts arrive at once on several connections: one of them assembles
        await unit.conn.execute(sql("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(connector_id, source, ref)})
    key = (
        inbound_parts.c.connector_id == connector_id,
        inbound_parts.c.source == source[:64],
        inbound_parts.c.ref == ref,
    )
    have = (await unit.conn.execute(select(inbound_parts.c.seq, inbound_parts.c.text).where(*key))).all()
    parts = {r.seq: r.text for r in have}
    if seq not in parts:
        await unit.conn.execute(
            insert(inbound_parts).values(
                connector_id=connector_id, source=source[:64], destination=destination[:64], ref=ref, total=total,
                seq=seq, text=text, created_at=utcnow(),
            )  # fmt: skip
        )
        parts[seq] = text
    if not all(n in parts for n in range(1, total + 1)):
        return None
    await unit.conn.execute(delete(inbound_parts).where(*key))
    body = "".join(parts[n] for n in range(1, total + 1))
    return await receive_from_connector(unit, account_id, connector_id, sender=source, body=body, recipient=destination)
