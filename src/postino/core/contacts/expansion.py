"""A campaign's lists become messages, one page of contacts per transaction.

Each call reads the next page of the lists in id order (keyset: ``id > cursor`` on the
``ix_contacts_tag_id`` index, one list after the other), and the database marks each
contact: is its number on the account's opt-out list, and has this campaign already
written to it (the ``campaign_recipients`` key, from an earlier list or page). New
numbers that may be messaged become messages in the campaign's batch; every new number,
messaged or not, gets its recipient row; the campaign's cursor moves past the page. All
of it commits together, so a process killed at any point restarts from the last
committed page: no number twice, none left out. Memory is one page, whatever the lists
hold.

Messages are written as drafts, which ``release`` hands to the queue. A campaign whose
drafts would be handed out at once (no pace, inside its window, a phone named, nothing
waiting before them) has its page written ``queued`` and charged instead: moving a row
from draft to queued rewrites every index on ``state``, which costs as much again as
writing the row (docs/campaigns.md, figure 7).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, and_, case, func, insert, literal, literal_column, null, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ...db.prepared import insert_row
from ...db.tables import campaign_recipients, campaigns, contacts, message_events, messages, optouts
from ..accounts import billing
from ..accounts.accounts import Account
from ..clock import utcnow
from ..errors import InvalidInput
from ..messages import lifecycle
from ..messages import messages as messages_mod
from ..service import Unit
from .contacts import lookup
from .placeholders import contact_values, fill, has_placeholders

T = TypeVar("T")

_RECIPIENT = insert_row(campaign_recipients, ("campaign_id", "phone", "contact_id", "seq"))


@dataclass(frozen=True)
class Expanded:
    """What one call did."""

    scanned: int
    written: int
    opted_out: int
    duplicates: int
    queued: int
    """Of ``written``, how many went to the queue at once."""
    done: bool
    """Every list has been read."""


async def on_connection(unit: Unit, fn: Callable[[Connection], T]) -> T:
    """``fn`` on the unit's plain connection: a page's statements run back to back, not one event-loop turn each."""
    conn = unit.conn
    if isinstance(conn, AsyncConnection):
        return await conn.run_sync(fn)
    return fn(conn.sync_connection)  # the group writer's connection (``Core.write_now``)


def draft_for(row: Any, contact: Any, body: str) -> messages_mod.Draft:
    """The message one contact gets; what every message of the campaign carries comes from its ``options``.

    The message knows its campaign through its batch, and its contact through the
    campaign's recipient row: nothing per message is added to ``extra``.
    """
    options = row.options or {}
    return messages_mod.Draft(
        recipient=contact.phone,
        body=body,
        channel=row.channel,
        device_id=row.device_id,
        slot=row.slot,
        sender=options.get("sender") or "",
        urgent=bool(options.get("urgent")),
        force_unicode=bool(options.get("force_unicode")),
        extra=dict(options["extra"]) if options.get("extra") else None,
    )


async def expand_batch(unit: Unit, row: Any, account: Account, *, queued: bool = False, limit: int | None = None) -> Expanded:
    """Expand the next page of ``row`` (the campaign, locked by the caller) and move its cursor.

    ``queued``: write the page to the queue, charged now (the caller has checked that
    its release would hand it out at once). A shortage of credit raises, and the
    caller's savepoint takes the page back.
    """
    size = limit or unit.settings.campaign_batch
    stored = unit.core.listeners.stored
    return await on_connection(unit, lambda conn: _expand(conn, row, account, size, queued, stored))


def _marks(row: Any) -> tuple[Any, Any]:
    """Per contact, in SQL: is its number opted out, and has this campaign a recipient row for it already.

    Each is a lookup in a primary key (``contacts.lookup``), never a hash of every
    opt-out of the account or every recipient of the campaign built again for each
    page: a page costs the same at the millionth number as at the first.
    """
    opted = lookup(select(literal_column("1")).where(
        optouts.c.account_id == row.account_id, optouts.c.phone == contacts.c.phone))  # fmt: skip
    seen = lookup(select(literal_column("1")).where(
        campaign_recipients.c.campaign_id == row.id, campaign_recipients.c.phone == contacts.c.phone))  # fmt: skip
    return opted, seen


def _expand(conn: Connection, row: Any, account: Account, size: int, queued: bool, stored: Any) -> Expanded:
    """Read up to ``size`` contacts from the cursor on (the next lists too when one ends), write, move the cursor."""
    tag_ids = [int(t) for t in row.tag_ids or []]
    write = _write_templated if has_placeholders(row.body) else _write_same_body
    index, cursor = row.cursor_list, row.cursor_contact
    scanned = written = opted_out = duplicates = 0
    while index < len(tag_ids) and scanned < size:
        want = size - scanned
        page = _Page(row, tag_ids[index], cursor, want, row.written + written, queued)
        last, ends = page.bounds(conn)
        if last is not None:
            found = write(conn, page.upto(last), account, stored)
            scanned += found.scanned
            written += found.written
            opted_out += found.opted_out
            duplicates += found.duplicates
        if ends:
            index, cursor = index + 1, 0  # this list is read to its end
        else:
            cursor = last
    now = utcnow()
    done = index >= len(tag_ids)
    values: dict[str, Any] = {
        "written": campaigns.c.written + written,
        "opted_out": campaigns.c.opted_out + opted_out,
        "duplicates_skipped": campaigns.c.duplicates_skipped + duplicates,
        "cursor_list": index,
        "cursor_contact": cursor,
        "updated_at": now,
    }
    if queued and written:
        values |= {"released": campaigns.c.released + written, "released_seq": row.written + written}
    if done:
        values["expanded_at"] = now
        values["contacts"] = row.written + written
    conn.execute(update(campaigns).where(campaigns.c.id == row.id).values(**values))
    return Expanded(scanned, written, opted_out, duplicates, written if queued else 0, done)


@dataclass(frozen=True)
class _Page:
    """One list's contacts after ``cursor``: at most ``size`` of them, up to ``last`` once bounded."""

    row: Any
    tag_id: int
    cursor: int
    size: int
    seq_start: int
    queued: bool
    last: int | None = None

    def bounds(self, conn: Connection) -> tuple[int | None, bool]:
        """The page's last contact id, and whether the list ends with it (its ``size``-th row, or the list's last)."""
        listed = and_(contacts.c.tag_id == self.tag_id, contacts.c.account_id == self.row.account_id,
                      contacts.c.id > self.cursor)  # fmt: skip
        nth = conn.scalar(select(contacts.c.id).where(listed).order_by(contacts.c.id).offset(self.size - 1).limit(1))
        if nth is not None:
            return nth, False
        return conn.scalar(select(func.max(contacts.c.id)).where(listed)), True

    def upto(self, last: int) -> "_Page":
        return _Page(self.row, self.tag_id, self.cursor, self.size, self.seq_start, self.queued, last)

    def where(self) -> Any:
        return and_(
            contacts.c.tag_id == self.tag_id, contacts.c.account_id == self.row.account_id,
            contacts.c.id > self.cursor, contacts.c.id <= self.last,
        )  # fmt: skip

    @property
    def state(self) -> str:
        return lifecycle.QUEUED if self.queued else lifecycle.DRAFT


@dataclass(frozen=True)
class _Written:
    scanned: int
    written: int
    opted_out: int
    duplicates: int


def _write_same_body(conn: Connection, page: _Page, account: Account, stored: Any) -> _Written:
    """A page of a campaign whose body is the same for everyone, written by the database itself.

    Set-based statements, whatever the page size, and no row passes through Python: the
    messages (``seq`` numbered in contact order, new numbers that have not opted out),
    their first events, the recipient rows of every new number (the same numbering,
    NULL for opted-out ones), and a count of the page. The messages are charged after
    they are written when they go to the queue at once (a shortage raises, and the
    caller's savepoint takes the page back).
    """
    row = page.row
    opted, seen = _marks(row)
    sample = draft_for(row, _Sample(row), row.body)
    plan = _plan(account, [sample], page.state)
    priced = plan.priced[0]
    position = func.row_number().over(order_by=contacts.c.id) + (page.seq_start - 1)
    values = _message_values(row, sample, priced, page.state, plan.at)
    chosen = select(*values, contacts.c.phone.label("recipient"), contacts.c.phone.label("recipient_raw"),
                    position.label("seq")).where(page.where(), ~seen, ~opted).order_by(contacts.c.id)  # fmt: skip
    names = [v.name for v in values] + ["recipient", "recipient_raw", "seq"]
    takes = conn.execute(insert(messages).from_select(names, chosen)).rowcount
    if takes:
        in_page = and_(messages.c.batch_id == row.batch_id, messages.c.seq >= page.seq_start,
                       messages.c.seq < page.seq_start + takes)  # fmt: skip
        conn.execute(insert(message_events).from_select(
            ["message_id", "state", "at"], select(messages.c.id, literal(page.state), messages.c.created_at).where(in_page)
        ))  # fmt: skip
        if page.queued:
            billing.debit_sync(conn, account.id, priced.product, priced.price * takes, enforce=account.credit_enforced,
                               batch_id=row.batch_id, note=f"campaign {row.id}")  # fmt: skip
        for fn in stored:
            fn([sample] * takes, [page.state] * takes)
    counted = func.sum(case((opted, 0), else_=1)).over(order_by=contacts.c.id)
    fresh = conn.execute(insert(campaign_recipients).from_select(
        ["campaign_id", "phone", "contact_id", "seq"],
        select(literal(row.id, campaign_recipients.c.campaign_id.type), contacts.c.phone, contacts.c.id,
               case((opted, null()), else_=counted + (page.seq_start - 1))).where(page.where(), ~seen),
    )).rowcount  # fmt: skip
    scanned = int(conn.scalar(select(func.count()).where(page.where())) or 0)
    return _Written(scanned, takes, fresh - takes, scanned - fresh)


@dataclass(frozen=True)
class _Sample:
    """Stands for every contact of a page where nothing about the contact changes the message."""

    row: Any
    id: int = 0
    phone: str = ""


def _message_values(row: Any, sample: messages_mod.Draft, priced: messages_mod.Priced, state: str, now: Any) -> list[Any]:
    """The columns every message of the page shares, as typed literals (dates, money, JSON bound as usual)."""
    shared = {
        "account_id": row.account_id, "batch_id": row.batch_id, "direction": "out", "channel": sample.channel,
        "device_id": sample.device_id, "slot": sample.slot, "sender": sample.sender, "body": sample.body,
        "encoding": priced.encoding, "segments": priced.segments, "state": state, "urgent": sample.urgent,
        "priority": sample.priority, "price": priced.price, "product": priced.product, "extra": sample.extra,
        "created_at": now, "updated_at": now,
    }  # fmt: skip
    return [
        (null() if value is None else literal(value, messages.c[name].type)).label(name) for name, value in shared.items()
    ]


def _write_templated(conn: Connection, page: _Page, account: Account, stored: Any) -> _Written:
    """A page of a campaign with ``{{placeholders}}``: each body filled in Python from its contact."""
    row = page.row
    opted, seen = _marks(row)
    found = conn.execute(
        select(contacts.c.id, contacts.c.phone, contacts.c.fullname, contacts.c.fields, opted.label("opted"),
               seen.label("seen")).where(page.where()).order_by(contacts.c.id)
    ).all()  # fmt: skip
    fresh = [c for c in found if not c.seen]
    takes = [c for c in fresh if not c.opted]
    if takes:
        drafts = [draft_for(row, c, fill(row.body, contact_values(c.phone, c.fullname, c.fields))) for c in takes]
        messages_mod.store(
            conn, _plan(account, drafts, page.state), batch_id=row.batch_id, charge=True, debit=page.queued,
            seq_start=page.seq_start, stored=stored,
        )  # fmt: skip
    position = {c.id: page.seq_start + i for i, c in enumerate(takes)}
    _RECIPIENT.run_many(
        conn, [{"campaign_id": row.id, "phone": c.phone, "contact_id": c.id, "seq": position.get(c.id)} for c in fresh]
    )
    return _Written(len(found), len(takes), len(fresh) - len(takes), len(found) - len(fresh))


def _plan(account: Account, drafts: Sequence[messages_mod.Draft], state: str) -> messages_mod.Plan:
    """``messages.plan`` for a page: each distinct body priced once (most campaigns have one body)."""
    priced: dict[str, messages_mod.Priced] = {}
    for index, draft in enumerate(drafts):
        if draft.body not in priced:
            if len(draft.body) > messages_mod.MAX_BODY:
                raise InvalidInput(
                    f"Message body longer than {messages_mod.MAX_BODY} characters once filled", field="body", index=index
                )
            priced[draft.body] = messages_mod.price_of(account, draft)
    return messages_mod.Plan(
        account, list(drafts), [priced[d.body] for d in drafts], [state] * len(drafts), utcnow()
    )
