"""Messages: accept (price, charge, store, queue), look up, cancel.

``submit`` is all or nothing: every draft is checked and priced first, the credit is
debited, then every message and its first event are written in one transaction.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ...db.prepared import insert_row, raw
from ...db.tables import batches, fallbacks, message_events, messages
from ...db.writer import Merge
from ..accounts import billing, credentials
from ..accounts.accounts import Account
from ..clock import utcnow
from ..errors import InvalidInput, NotFound
from ..routing import plan as routing
from ..service import Core, Unit
from . import lifecycle
from .segments import count as count_segments

WA_CHARS_PER_CREDIT = 1500
MAX_BODY = 10_000

ReceivedListener = Callable[[Unit, int, list[int]], Awaitable[None]]
"""``fn(unit, account_id, ids)`` (``Core.listeners.received``), in the transaction storing inbound
messages: they are born ``received`` (no lifecycle move), so transition listeners never see them."""
StoredListener = Callable[[Sequence[Any], Sequence[str]], None]
"""``fn(drafts, states)`` (``Core.listeners.stored``): counts what was written, on the writer's thread."""


@dataclass
class Draft:
    """One message to one recipient, as a dialect understood the request."""

    recipient: str
    body: str
    recipient_raw: str = ""
    channel: str = "sms"
    device_id: int | None = None
    slot: int | None = None
    connector_id: int | None = None
    sender: str = ""
    media_url: str | None = None
    urgent: bool = False
    priority: float = 1.0
    due_at: datetime | None = None
    valid_until: datetime | None = None
    customer_id: str | None = None
    fields: dict | None = None
    extra: dict | None = None
    force_unicode: bool = False
    state: str | None = None
    """Only for inbound messages (``received``); outgoing ones get their state from core."""
    fallback: tuple[str, int | None] | None = None
    """(channel, seconds): the route that took it sends it again on that channel if it is not
    delivered (``routing.fallback``); set by routing."""
    fallback_of: int | None = None
    """The message this one stands in for (a fallback SMS)."""


@dataclass
class Accepted:
    ids: list[int]
    batch_id: int | None
    cost: dict[str, Decimal] = field(default_factory=dict)
    states: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Priced:
    product: str
    price: Decimal
    encoding: str
    segments: int


def price_of(account: Account, draft: Draft) -> Priced:
    """What one message costs: SMS per part x priority; WhatsApp per started 1500 characters or per media."""
    seg = count_segments(draft.body, force_unicode=draft.force_unicode)
    if draft.channel == "whatsapp":
        if draft.media_url:
            price = account.price("wa_media")
        else:
            price = account.price("wa_text") * max(1, math.ceil(len(draft.body) / WA_CHARS_PER_CREDIT))
        return Priced("wa", price, seg.encoding, seg.parts)
    price = account.price("sms_segment") * seg.parts * Decimal(str(draft.priority))
    return Priced("sms", price.quantize(Decimal("0.0001")), seg.encoding, seg.parts)


async def open_batch(
    unit: Unit,
    account_id: int,
    kind: str,
    *,
    public_id: str | None = None,
    title: str = "",
    data: dict | None = None,
    state: str = "open",
) -> int:
    now = utcnow()
    return int(
        (
            await unit.conn.execute(
                insert(batches)
                .values(
                    account_id=account_id,
                    kind=kind,
                    public_id=public_id,
                    title=title[:200],
                    data=data or {},
                    state=state,
                    created_at=now,
                    updated_at=now,
                )
                .returning(batches.c.id)
            )
        ).scalar_one()
    )


@dataclass
class Plan:
    """Drafts checked, priced and given their first state: everything decided before writing."""

    account: Account
    drafts: list[Draft]
    priced: list[Priced]
    states: list[str]
    at: datetime

    def cost(self) -> dict[str, Decimal]:
        cost: dict[str, Decimal] = defaultdict(Decimal)
        for p, state in zip(self.priced, self.states):
            if state != lifecycle.RECEIVED:
                cost[p.product] += p.price
        return dict(cost)

    def unrouted(self) -> dict[str, list[int]]:
        """Indexes of drafts that name no phone nor connector and go to the queue now."""
        return [
            index
            for index, (draft, state) in enumerate(zip(self.drafts, self.states))
            if draft.device_id is None and draft.connector_id is None and state == lifecycle.QUEUED
        ]

    def woken(self) -> set[int]:
        return {d.device_id for d, s in zip(self.drafts, self.states) if s == lifecycle.QUEUED and d.device_id}

    def woken_connectors(self) -> set[int]:
        return {d.connector_id for d, s in zip(self.drafts, self.states) if s == lifecycle.QUEUED and d.connector_id}


def plan(account: Account, drafts: list[Draft], *, hold: bool = False) -> Plan:
    """Check and price every draft and pick its first state; no database needed."""
    if not drafts:
        raise InvalidInput("No recipients")
    now = utcnow()
    priced = []
    states = []
    for index, draft in enumerate(drafts):
        if len(draft.body) > MAX_BODY:
            raise InvalidInput(f"Message body longer than {MAX_BODY} characters", field="body", index=index)
        if draft.priority < 1:
            raise InvalidInput("priority must be at least 1", field="priority", index=index)
        priced.append(price_of(account, draft))
        if draft.state is not None:
            states.append(draft.state)
        elif hold:
            states.append(lifecycle.DRAFT)
        elif draft.due_at is not None and draft.due_at > now:
            states.append(lifecycle.SCHEDULED)
        else:
            states.append(lifecycle.QUEUED)
    return Plan(account, drafts, priced, states, now)


def store(
    conn: Connection,
    plan: Plan,
    *,
    batch_id: int | None = None,
    charge: bool = True,
    debit: bool = True,
    refund_on_failure: bool = False,
    seq_start: int = 0,
    stored: Sequence[StoredListener] = (),
) -> tuple[list[int], dict[str, Decimal]]:
    """Debit, then write the messages and their first events: one plain-connection step.

    Both ``submit`` (through ``run_sync``) and the group-commit writer run it, so the
    rows are written one way only. ``stored`` (``Core.listeners.stored``) hear of them
    here, off the event loop. Returns the new ids in draft order and the cost.
    """
    account = plan.account
    cost = plan.cost() if charge and debit else {}
    for product, amount in cost.items():
        billing.debit_sync(conn, account.id, product, amount, enforce=account.credit_enforced, batch_id=batch_id)
    rows = _rows(plan, batch_id=batch_id, charge=charge, refund_on_failure=refund_on_failure, seq_start=seq_start)
    ids = _insert(conn, rows, plan.states)
    _watch_fallbacks(conn, plan, ids)
    for fn in stored:
        fn(plan.drafts, plan.states)
    return ids, cost


def _watch_fallbacks(conn: Connection, plan: Plan, ids: Sequence[int]) -> None:
    """Messages a route with a fallback channel took are watched until delivered (``routing.fallback``)."""
    watched = [
        {"message_id": i, "account_id": plan.account.id, "channel": d.fallback[0], "state": "waiting", "detail": "",
         "due_at": plan.at + timedelta(seconds=d.fallback[1]) if d.fallback[1] else None, "created_at": plan.at}
        for i, d in zip(ids, plan.drafts) if d.fallback is not None
    ]  # fmt: skip
    if watched:
        conn.execute(insert(fallbacks), watched)


def _rows(
    plan: Plan, *, batch_id: int | None, charge: bool = True, refund_on_failure: bool = False, seq_start: int = 0
) -> list[dict[str, Any]]:
    """The ``messages`` rows of a plan, in draft order."""
    account = plan.account
    now = plan.at
    extra_flag = {"refund_on_failure": True} if refund_on_failure else None
    rows = []
    for index, (draft, p, state) in enumerate(zip(plan.drafts, plan.priced, plan.states)):
        extra = draft.extra
        if extra_flag:
            extra = {**(extra or {}), **extra_flag}
        inbound = state == lifecycle.RECEIVED
        rows.append(
            {
                "account_id": account.id,
                "batch_id": batch_id,
                "direction": "in" if inbound else "out",
                "channel": draft.channel,
                "device_id": draft.device_id,
                "slot": draft.slot,
                "connector_id": draft.connector_id,
                "recipient": draft.recipient,
                "recipient_raw": draft.recipient_raw or draft.recipient,
                "sender": draft.sender,
                "body": draft.body,
                "media_url": draft.media_url,
                "encoding": p.encoding,
                "segments": p.segments,
                "state": state,
                "urgent": draft.urgent,
                "priority": draft.priority,
                "due_at": draft.due_at,
                "valid_until": draft.valid_until,
                "customer_id": draft.customer_id,
                "price": p.price if (charge and not inbound) else _ZERO,
                "product": p.product,
                "fields": draft.fields,
                "extra": extra or None,
                "fallback_of": draft.fallback_of,
                "seq": seq_start + index,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def _insert(conn: Connection, rows: list[dict[str, Any]], states: list[str]) -> list[int]:
    """Insert message rows and their first events (at the row's ``created_at``); the new ids in row order."""
    if len(rows) == 1:
        ids = [_INSERT_ONE.run(conn, rows[0])[0][0]]
        _EVENT.run(conn, {"message_id": ids[0], "state": states[0], "at": rows[0]["created_at"]})
        return ids
    if conn.dialect.name == "sqlite":
        # One writer connection inside its own write transaction: an executemany's rows
        # take consecutive ids ending at last_insert_rowid() (no other insert interleaves).
        _INSERT_MANY.run_many(conn, rows)
        last = raw(conn, "SELECT last_insert_rowid()")[0][0]
        ids = list(range(last - len(rows) + 1, last + 1))
    else:
        result = conn.execute(insert(messages).returning(messages.c.id, sort_by_parameter_order=True), rows)
        ids = [r[0] for r in result.all()]
    _EVENT.run_many(
        conn, [{"message_id": i, "state": s, "at": r["created_at"]} for i, s, r in zip(ids, states, rows)]
    )
    return ids


_MESSAGE_COLUMNS = (
    "account_id", "batch_id", "direction", "channel", "device_id", "slot", "connector_id", "recipient", "recipient_raw", "sender",
    "body", "media_url", "encoding", "segments", "state", "urgent", "priority", "due_at", "valid_until",
    "customer_id", "price", "product", "fields", "extra", "fallback_of", "seq", "created_at", "updated_at",
)  # fmt: skip
_INSERT_ONE = insert_row(messages, _MESSAGE_COLUMNS, messages.c.id)
_INSERT_MANY = insert_row(messages, _MESSAGE_COLUMNS)
_EVENT = insert_row(message_events, ("message_id", "state", "at"))


_ZERO = Decimal(0)


async def submit(
    unit: Unit,
    account: Account,
    drafts: list[Draft],
    *,
    batch_id: int | None = None,
    hold: bool = False,
    charge: bool = True,
    refund_on_failure: bool = False,
    seq_start: int = 0,
) -> Accepted:
    """Accept ``drafts`` for sending.

    ``hold`` keeps them as drafts (an open transaction), uncharged, until ``release``.
    Raises ``InsufficientCredit``/``CreditExpired`` (nothing written) when the account
    enforces credit and lacks it, ``NoRoute`` when no phone can take them.
    """
    accepted_plan = plan(account, drafts, hold=hold)
    await _route(unit, accepted_plan)
    ids, cost = await unit.conn.run_sync(
        lambda conn: store(
            conn,
            accepted_plan,
            batch_id=batch_id,
            charge=charge,
            debit=not hold,
            refund_on_failure=refund_on_failure,
            seq_start=seq_start,
            stored=unit.core.listeners.stored,
        )
    )
    states = accepted_plan.states
    received = [i for i, s in zip(ids, states) if s == lifecycle.RECEIVED]
    if received:
        for listener in unit.core.listeners.received:
            await listener(unit, account.id, received)
    _wake_devices(unit, accepted_plan.woken())
    _wake_connectors(unit, accepted_plan.woken_connectors())
    return Accepted(ids=ids, batch_id=batch_id, cost=cost, states=states)


async def _route(unit: Unit, accepted: Plan) -> None:
    """Give a phone or a connector to what names neither and is going to the queue now."""
    indexes = accepted.unrouted()
    if not indexes:
        return
    drafts = accepted.drafts
    wants = [routing.Want(drafts[i].channel, drafts[i].recipient, drafts[i].urgent) for i in indexes]
    for index, target in zip(indexes, await routing.plan(unit, accepted.account.id, wants)):
        drafts[index].device_id = target.device_id
        drafts[index].slot = target.slot
        drafts[index].connector_id = target.connector_id
        drafts[index].fallback = target.fallback


async def accept(
    core: Core,
    account: Account,
    drafts: list[Draft],
    *,
    credential_id: int | None = None,
    batch_kind: str | None = None,
) -> Accepted:
    """``submit`` through the group-commit writer: the hot path of the send APIs.

    ``credential_id`` is checked again inside the write (a cached credential revoked by
    any process is refused); ``batch_kind`` opens a closed batch for the messages in the
    same write. Answered ids are durable: the writer returns only after its COMMIT.
    """
    accepted_plan = plan(account, drafts)
    if accepted_plan.unrouted():
        async with core.reader() as unit:
            await _route(unit, accepted_plan)

    def work(conn: Connection) -> tuple[int | None, list[int], dict[str, Decimal]]:
        if credential_id is not None:
            credentials.check_live(conn, credential_id)
        batch_id = _open_batch_sync(conn, account.id, batch_kind, accepted_plan.at) if batch_kind else None
        ids, cost = store(conn, accepted_plan, batch_id=batch_id, stored=stored)
        return batch_id, ids, cost

    stored = core.listeners.stored
    merge = None if batch_kind else Merge("messages.accept", (accepted_plan, credential_id, stored), _accept_many)
    batch_id, ids, cost = await core.db.writer.run(work, merge)
    for device_id in accepted_plan.woken():
        core.notifier.publish(("device", device_id), "MessageEnqueued")
    for connector_id in accepted_plan.woken_connectors():
        core.notifier.publish(("connector", connector_id), "MessageEnqueued")
    return Accepted(ids=ids, batch_id=batch_id, cost=cost, states=accepted_plan.states)


def _accept_many(
    conn: Connection, entries: list[tuple[Plan, int | None, Sequence[StoredListener]]]
) -> list[tuple[None, list[int], dict[str, Decimal]]]:
    """Concurrent ``accept`` calls written together: one debit per account, one multi-row insert.

    Any error (a revoked credential, credit short for the sum) makes the writer roll this
    back and run each ``accept`` alone, where it meets its own error.
    """
    for credential_id in {c for _, c, _ in entries if c is not None}:
        credentials.check_live(conn, credential_id)
    costs = [p.cost() for p, _, _ in entries]
    billing.debit_many(conn, [(p.account.id, p.account.credit_enforced, cost) for (p, _, _), cost in zip(entries, costs)])
    rows: list[dict[str, Any]] = []
    states: list[str] = []
    for p, _, _ in entries:
        rows += _rows(p, batch_id=None)
        states += p.states
    ids = _insert(conn, rows, states)
    results = []
    start = 0
    heard: dict[int, tuple[Sequence[StoredListener], list[Draft], list[str]]] = {}
    for (p, _, stored), cost in zip(entries, costs):
        _watch_fallbacks(conn, p, ids[start : start + len(p.drafts)])
        told = heard.setdefault(id(stored), (stored, [], []))
        told[1].extend(p.drafts)
        told[2].extend(p.states)
        results.append((None, ids[start : start + len(p.drafts)], cost))
        start += len(p.drafts)
    for stored, drafts, drafted_states in heard.values():  # once per group: a listener's cost is per call
        for fn in stored:
            fn(drafts, drafted_states)
    return results


def _open_batch_sync(conn: Connection, account_id: int, kind: str, now: datetime) -> int:
    return int(
        conn.execute(
            insert(batches)
            .values(account_id=account_id, kind=kind, title="", data={}, state="closed", created_at=now, updated_at=now)
            .returning(batches.c.id)
        ).scalar_one()
    )


def _wake_devices(unit: Unit, device_ids: set[int]) -> None:
    notifier = unit.core.notifier
    for device_id in device_ids:
        unit.after_commit(lambda d=device_id: notifier.publish(("device", d), "MessageEnqueued"))


def _wake_connectors(unit: Unit, connector_ids: set[int]) -> None:
    """The worker serving a connector hears that work waits (a hint: it also polls)."""
    notifier = unit.core.notifier
    for connector_id in connector_ids:
        unit.after_commit(lambda c=connector_id: notifier.publish(("connector", c), "MessageEnqueued"))


async def release(unit: Unit, account: Account, batch_id: int, *, charge: bool = True) -> list[int]:
    """Close an open transaction: its drafts go to the queue (or schedule), charged now."""
    rows = (
        await unit.conn.execute(
            select(messages).where(messages.c.batch_id == batch_id, messages.c.state == lifecycle.DRAFT)
        )
    ).all()
    if not rows:
        return []
    now = utcnow()
    cost: dict[str, Decimal] = defaultdict(Decimal)
    prices: dict[int, Decimal] = {}
    for row in rows:
        draft = Draft(recipient=row.recipient, body=row.body, channel=row.channel, media_url=row.media_url,
                      priority=row.priority)
        p = price_of(account, draft)
        prices[row.id] = p.price
        cost[p.product] += p.price
    if charge:
        for product, amount in cost.items():
            await billing.debit(unit, account.id, product, amount, enforce=account.credit_enforced, batch_id=batch_id)
    due = [r for r in rows if r.due_at is not None and r.due_at > now]
    ready = [r for r in rows if not (r.due_at is not None and r.due_at > now)]
    unrouted = [r for r in ready if r.device_id is None and r.connector_id is None]
    wants = [routing.Want(r.channel, r.recipient, r.urgent) for r in unrouted]
    targets = await routing.plan(unit, account.id, wants) if unrouted else []
    await set_targets(unit, [r.id for r in unrouted], targets)
    for row in rows:
        if charge:
            await unit.conn.execute(update(messages).where(messages.c.id == row.id).values(price=prices[row.id]))
    await lifecycle.move(unit, [r.id for r in due], lifecycle.SCHEDULED)
    await lifecycle.move(unit, [r.id for r in ready], lifecycle.QUEUED)
    device_ids = {r.device_id for r in ready if r.device_id} | {t.device_id for t in targets if t.device_id}
    _wake_devices(unit, device_ids)
    _wake_connectors(unit, {t.connector_id for t in targets if t.connector_id})
    return [r.id for r in rows]


async def set_targets(unit: Unit, ids: Sequence[int], targets: Sequence[Any]) -> None:
    """Write where routing sent each message (a phone's slot or a connector)."""
    for message_id, target in zip(ids, targets):
        await unit.conn.execute(
            update(messages)
            .where(messages.c.id == message_id)
            .values(device_id=target.device_id, slot=target.slot, connector_id=target.connector_id)
        )


async def get(unit: Unit, account_id: int, message_id: int) -> Any:
    """One message row of the account, or ``NotFound`` (also for another account's id)."""
    row = (
        await unit.conn.execute(
            select(messages).where(messages.c.id == message_id, messages.c.account_id == account_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("Message not found")
    return row


async def of_batch(unit: Unit, account_id: int, batch_id: int) -> list[Any]:
    return list(
        (
            await unit.conn.execute(
                select(messages)
                .where(messages.c.batch_id == batch_id, messages.c.account_id == account_id)
                .order_by(messages.c.seq, messages.c.id)
            )
        ).all()
    )


async def cancel(unit: Unit, account_id: int, ids: list[int]) -> list[lifecycle.Moved]:
    """Cancel what has not been taken yet; phones holding one hear ``MessageCancelled``."""
    moved = await lifecycle.move(
        unit,
        ids,
        lifecycle.CANCELED,
        only_from=sorted(lifecycle.PENDING),
        extra_where=messages.c.account_id == account_id,
    )
    notifier = unit.core.notifier
    for m in moved:
        if m.device_id:
            unit.after_commit(
                lambda m=m: notifier.publish(("device", m.device_id), "MessageCancelled", {"messageId": str(m.id)})
            )
    return moved
