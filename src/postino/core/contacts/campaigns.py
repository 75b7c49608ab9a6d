"""Campaigns (newsletters, SG24 "paket", NusaSMS group sends): one text to every distinct number of some lists.

States: ``scheduled`` until its time, then ``running`` (``paused`` and back), then
``finished`` once every message is done, or ``canceled``; ``failed`` when it could not
start (not enough credit for it). At start the lists are expanded, a page of contacts
per transaction (``expansion``): one draft message per distinct number that has not
opted out, in a batch that points back at the campaign (listings show its id, title and
body). Drafts are handed to the queue inside the send window, at the pace
(``release``). What drives it:

- ``start_due_campaigns`` (scheduler job): a scheduled campaign whose time has come starts;
- ``advance`` (the ``campaigns`` worker loop, ``dispatch.campaigns``): the next page of
  an expanding campaign, the next chunk of an unpaced one, the drafts of a canceled one;
- ``release_campaigns`` (scheduler job): paced campaigns get their share each tick;
- ``finish_campaigns`` (scheduler job): ``campaign.finished`` once all is done.

A campaign started by the request that creates it (``savepaket`` now, ``sendsms/group``)
writes its first page and hands out its first chunk in that request's transaction: a
small campaign is complete, and a refusal (credit) is the request's answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update

from ...db.tables import batches, campaigns, messages
from ..accounts import accounts as accounts_mod
from ..accounts import billing
from ..accounts.accounts import Account
from ..clock import utcnow
from ..devices import devices as devices_mod
from ..errors import Conflict, CreditExpired, DomainError, InsufficientCredit, InvalidInput, NotFound
from ..events import webhooks
from ..messages import lifecycle
from ..messages import messages as messages_mod
from ..service import Unit
from . import expansion, release
from .contacts import count_recipients
from .lists import MAX_TITLE, get_tag, plain
from .placeholders import fill

DRAFT = "draft"
SCHEDULED = "scheduled"
RUNNING = release.RUNNING
PAUSED = release.PAUSED
FINISHED = "finished"
CANCELED = "canceled"
FAILED = "failed"
STATES = (DRAFT, SCHEDULED, RUNNING, PAUSED, FINISHED, CANCELED, FAILED)
OVER = frozenset({FINISHED, CANCELED, FAILED})

CHANNELS = ("sms", "whatsapp", "rcs")
OPTIONS = frozenset({"sender", "urgent", "force_unicode", "extra"})
MAX_PACE = 100_000
MAX_LISTS = 100
WAKE = "campaigns"
"""The notifier key the campaigns worker listens on."""

DONE_STATES = lifecycle.FINAL | {lifecycle.DELIVERED}
"""A campaign is finished when each of its messages is in one of these (delivered: a read may follow, nothing else)."""

# Each message counted once, by where it is now.
COUNTED = {
    "waiting": (lifecycle.DRAFT,),
    "queued": (lifecycle.SCHEDULED, lifecycle.QUEUED, lifecycle.ASSIGNED, lifecycle.TAKEN),
    "sent": (lifecycle.SENT,),
    "delivered": (lifecycle.DELIVERED, lifecycle.READ),
    "failed": (lifecycle.FAILED, lifecycle.UNDELIVERED, lifecycle.EXPIRED),
    "canceled": (lifecycle.CANCELED,),
}


@dataclass(frozen=True)
class Campaign:
    id: int
    account_id: int
    title: str
    body: str
    device_id: int | None
    slot: int | None
    channel: str
    tag_ids: list[int]
    send_at: datetime
    state: str
    batch_id: int | None
    contacts: int
    window: str | None
    pace: int | None
    options: dict
    written: int
    released: int
    opted_out: int
    duplicates_skipped: int
    expanded: bool
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def total(self) -> int:
        """Messages the campaign writes: exact once expanded, the count at start before."""
        return self.written if self.expanded else max(self.contacts, self.written)

    def public(self, counts: dict[str, int] | None = None) -> dict[str, Any]:
        """The campaign with its counts, as the CLI and ``/api/v1/campaigns`` show it."""
        counted = counts or {}
        return {
            "id": self.id,
            "title": self.title,
            "body": self.body,
            "state": self.state,
            "lists": self.tag_ids,
            "channel": self.channel,
            "device_id": self.device_id,
            "slot": self.slot,
            "send_at": webhooks.iso(self.send_at),
            "window": self.window,
            "pace": self.pace,
            "total": self.total,
            **{name: int(counted.get(name, 0)) for name in COUNTED},
            "opted_out": self.opted_out,
            "duplicates_skipped": self.duplicates_skipped,
            "expanded": self.expanded,
            "error": self.error,
            "batch_id": self.batch_id,
            "created_at": webhooks.iso(self.created_at),
            "started_at": webhooks.iso(self.started_at),
            "finished_at": webhooks.iso(self.finished_at),
        }


def _campaign(row: Any) -> Campaign:
    return Campaign(
        id=row.id,
        account_id=row.account_id,
        title=row.title,
        body=row.body,
        device_id=row.device_id,
        slot=row.slot,
        channel=row.channel,
        tag_ids=[int(t) for t in row.tag_ids or []],
        send_at=row.send_at,
        state=row.state,
        batch_id=row.batch_id,
        contacts=row.contacts,
        window=release.window_text(row.window_start, row.window_end),
        pace=row.pace,
        options=dict(row.options or {}),
        written=row.written,
        released=row.released,
        opted_out=row.opted_out,
        duplicates_skipped=row.duplicates_skipped,
        expanded=row.expanded_at is not None,
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def _wake(unit: Unit, devices: set[int], *, runner: bool = False) -> None:
    """After the commit: phones that got messages, and the campaigns worker when a campaign has more to do."""
    notifier = unit.core.notifier
    for device_id in devices:
        unit.after_commit(lambda d=device_id: notifier.publish(("device", d), "MessageEnqueued"))
    if runner:
        unit.after_commit(lambda: notifier.publish(WAKE, "CampaignWork"))


# --- creating ---------------------------------------------------------------------------


def _check_options(options: dict | None) -> dict:
    options = dict(options or {})
    unknown = set(options) - OPTIONS
    if unknown:
        raise InvalidInput(f"Unknown campaign option {sorted(unknown)[0]!r}", field="options")
    sender = options.get("sender", "")
    if not isinstance(sender, str) or len(sender) > 64 or "\x00" in sender:
        raise InvalidInput("sender must be text of at most 64 characters", field="sender")
    if not isinstance(options.get("extra", {}), dict):
        raise InvalidInput("extra must be an object", field="extra")
    return options


async def create_campaign(
    unit: Unit,
    account_id: int,
    *,
    title: str,
    body: str,
    tag_ids: Sequence[int],
    device_id: int | None,
    slot: int = 0,
    send_at: datetime | None = None,
    channel: str | None = None,
    window: str | None = None,
    pace: int | None = None,
    options: dict | None = None,
) -> tuple[Campaign, set[int]]:
    """A campaign to every distinct number of ``tag_ids``, sent through ``device_id`` (its ``slot``) or routed.

    Due now (no ``send_at`` or a past one): it starts in this transaction (its first page
    written, its first chunk handed out; a refusal such as credit is raised). Later: the
    scheduler starts it. Returns the campaign and the devices to wake (already woken
    after the commit).
    """
    title = plain(title, "title").strip()
    plain(body, "body")
    if not title:
        raise InvalidInput("Campaign title is required", field="title")
    if not body:
        raise InvalidInput("Campaign body is required", field="body")
    if len(body) > messages_mod.MAX_BODY:
        raise InvalidInput(f"Campaign body longer than {messages_mod.MAX_BODY} characters", field="body")
    unique_tags = list(dict.fromkeys(int(t) for t in tag_ids))
    if not unique_tags:
        raise InvalidInput("At least one tag is required", field="tags")
    if len(unique_tags) > MAX_LISTS:
        raise InvalidInput(f"At most {MAX_LISTS} lists per campaign", field="tags")
    for tag_id in unique_tags:
        await get_tag(unit, account_id, tag_id)
    chosen = channel or "sms"
    if chosen not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
    if device_id is not None:
        device = await devices_mod.get(unit, account_id, device_id)
        if not device.has_slot(slot):
            raise InvalidInput(f"Device has no sim slot {slot}", field="sim")
        chosen = devices_mod.SLOT_CHANNELS[slot]
    if pace is not None and not 1 <= pace <= MAX_PACE:
        raise InvalidInput(f"pace must be 1 to {MAX_PACE} messages per minute", field="pace")
    span = release.parse_window(window)
    now = utcnow()
    recipients = await count_recipients(unit, account_id, unique_tags)
    batch_id = await messages_mod.open_batch(unit, account_id, "campaign", title=title, state="closed")
    row = (
        await unit.conn.execute(
            insert(campaigns)
            .values(
                account_id=account_id,
                title=title[:MAX_TITLE],
                body=body,
                device_id=device_id,
                slot=slot if device_id is not None else None,
                channel=chosen,
                tag_ids=unique_tags,
                send_at=send_at or now,
                state=SCHEDULED,
                batch_id=batch_id,
                contacts=recipients,
                created_at=now,
                updated_at=now,
                window_start=span[0] if span else None,
                window_end=span[1] if span else None,
                pace=pace,
                options=_check_options(options),
            )
            .returning(*campaigns.c)
        )
    ).one()
    await unit.conn.execute(
        update(batches).where(batches.c.id == batch_id).values(data={"campaign_id": row.id})
    )
    campaign = _campaign(row)
    woken: set[int] = set()
    if campaign.send_at <= now:
        campaign, woken = await start_campaign(unit, campaign, strict=True, now=now, recipients=recipients)
    return campaign, woken


async def get_campaign(unit: Unit, account_id: int, campaign_id: int) -> Campaign:
    row = (
        await unit.conn.execute(
            select(campaigns).where(campaigns.c.id == campaign_id, campaigns.c.account_id == account_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("Campaign not found")
    return _campaign(row)


async def list_campaigns(
    unit: Unit, account_id: int, *, state: str | None = None, after: int = 0, limit: int = 50
) -> tuple[list[Campaign], int | None]:
    """The account's campaigns, newest first, a page after ``after`` (an id; 0: the newest)."""
    limit = max(1, min(limit, 200))
    stmt = select(campaigns).where(campaigns.c.account_id == account_id)
    if after:
        stmt = stmt.where(campaigns.c.id < after)
    if state:
        stmt = stmt.where(campaigns.c.state == state)
    rows = (await unit.conn.execute(stmt.order_by(campaigns.c.id.desc()).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return [_campaign(r) for r in rows], (rows[-1].id if more else None)


async def counts(unit: Unit, campaign: Campaign) -> dict[str, int]:
    """How many of its messages are waiting, queued, sent, delivered, failed, canceled (one read of its batch)."""
    if campaign.batch_id is None:
        return {}
    by_state = dict(
        (
            await unit.conn.execute(
                select(messages.c.state, func.count())
                .where(messages.c.batch_id == campaign.batch_id)
                .group_by(messages.c.state)
            )
        ).all()
    )
    return {name: sum(int(by_state.get(s, 0)) for s in states) for name, states in COUNTED.items()}


async def show(unit: Unit, account_id: int, campaign_id: int) -> dict[str, Any]:
    campaign = await get_campaign(unit, account_id, campaign_id)
    return campaign.public(await counts(unit, campaign))


# --- starting ---------------------------------------------------------------------------


async def _check_credit(unit: Unit, account: Account, row: Any, recipients: int) -> None:
    """Refuse a campaign the account's credit cannot pay for: each message at least the body without its placeholders."""
    if not account.credit_enforced or recipients == 0:
        return
    sample = messages_mod.Draft(recipient="", body=fill(row.body, {}), channel=row.channel,
                                force_unicode=bool((row.options or {}).get("force_unicode")))  # fmt: skip
    priced = messages_mod.price_of(account, sample)
    found = await billing.balance(unit, account.id, priced.product)
    if found.expired():
        raise CreditExpired(f"{priced.product} balance expired")
    if found.amount < priced.price * recipients:
        raise InsufficientCredit(f"Not enough {priced.product} credit")


async def start_campaign(
    unit: Unit, campaign: Campaign, *, strict: bool = False, now: datetime | None = None, recipients: int | None = None
) -> tuple[Campaign, set[int]]:
    """Start the campaign now: counted, checked against the credit, its first page written and handed out.

    ``strict`` (started by the request that created it): a refusal (credit, no phone) is
    raised, so the caller stores nothing and tells its client. Otherwise (started by the
    scheduler) the campaign ends ``failed``, without messages, the reason in ``error``.
    ``recipients``: the count, when the caller made it in this transaction.
    """
    now = now or utcnow()
    account = await accounts_mod.get(unit, campaign.account_id)
    if strict:
        row, woken = await _start(unit, account, campaign.id, now, recipients)
    else:
        try:
            async with unit.conn.begin_nested():
                row, woken = await _start(unit, account, campaign.id, now, recipients)
        except DomainError as exc:
            row = (
                await unit.conn.execute(
                    update(campaigns)
                    .where(campaigns.c.id == campaign.id)
                    .values(state=FAILED, contacts=0, error=exc.message[:500], finished_at=now, updated_at=now)
                    .returning(*campaigns.c)
                )
            ).one()
            woken = set()
    _wake(unit, woken, runner=row.state == RUNNING)
    return _campaign(row), woken


async def _start(
    unit: Unit, account: Account, campaign_id: int, now: datetime, recipients: int | None
) -> tuple[Any, set[int]]:
    row = await _row(unit, campaign_id)
    if recipients is None:
        recipients = await count_recipients(unit, account.id, [int(t) for t in row.tag_ids or []])
    await _check_credit(unit, account, row, recipients)
    row = (
        await unit.conn.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign_id)
            .values(state=RUNNING, contacts=recipients, started_at=now, updated_at=now, error=None)
            .returning(*campaigns.c)
        )
    ).one()
    return await _step(unit, row, account, now)


async def _row(unit: Unit, campaign_id: int, *, lock: bool = True) -> Any:
    stmt = select(campaigns).where(campaigns.c.id == campaign_id)
    if lock and unit.is_postgres:
        stmt = stmt.with_for_update()
    return (await unit.conn.execute(stmt)).one()


async def _step(unit: Unit, row: Any, account: Account, now: datetime) -> tuple[Any, set[int]]:
    """One page of expansion (if any is left), then what the window and pace let go now."""
    woken: set[int] = set()
    if row.expanded_at is None:
        at_once = release.hands_out_at_once(row, account, now)
        try:
            async with unit.conn.begin_nested():
                expanded = await expansion.expand_batch(unit, row, account, queued=at_once)
        except (InsufficientCredit, CreditExpired) as exc:  # only a page written to the queue is charged
            await unit.conn.execute(
                update(campaigns).where(campaigns.c.id == row.id).values(state=PAUSED, error=exc.message, updated_at=now)
            )
            return await _row(unit, row.id, lock=False), woken
        if expanded.queued and row.device_id is not None:
            woken.add(row.device_id)
        row = await _row(unit, row.id, lock=False)
    released = await release.release(unit, row, account, now)
    woken |= released.woken
    if released.count or released.paused_for:
        row = await _row(unit, row.id, lock=False)
    if row.state == RUNNING and row.expanded_at is not None and row.written == 0:
        row = await _finish(unit, row, {})
    return row, woken


async def start_due_campaigns(unit: Unit, now: datetime | None = None) -> set[int]:
    """Scheduler job: start every campaign whose time has come; returns devices to wake."""
    now = now or utcnow()
    stmt = (
        select(campaigns)
        .where(campaigns.c.state == SCHEDULED, campaigns.c.send_at <= now)
        .order_by(campaigns.c.send_at, campaigns.c.id)
        .limit(20)
    )
    if unit.is_postgres:
        stmt = stmt.with_for_update(skip_locked=True)
    woken: set[int] = set()
    for row in (await unit.conn.execute(stmt)).all():
        _started, devices = await start_campaign(unit, _campaign(row), now=now)
        woken |= devices
    return woken


# --- running ----------------------------------------------------------------------------


def _expanding_or_sweeping() -> Any:
    """Campaigns whose next step always moves: a page to expand, or drafts of a canceled (failed) one to cancel."""
    return or_(
        and_(campaigns.c.state.in_((RUNNING, PAUSED)), campaigns.c.expanded_at.is_(None)),
        and_(campaigns.c.state.in_((CANCELED, FAILED)), campaigns.c.released < campaigns.c.written),
    )


async def advance(unit: Unit, now: datetime | None = None) -> tuple[bool, set[int]]:
    """The campaigns worker's step: move one campaign on by one page or one chunk.

    First a campaign with a page left to expand (or drafts to cancel), the one touched
    longest ago, so campaigns take turns. Else an unpaced running campaign with drafts
    inside its window (its release); those outside their window are passed over
    without a lock, so they hold up no one. Returns whether anything moved (the worker
    goes on at once if so) and the devices to wake.
    """
    now = now or utcnow()
    stmt = (
        select(campaigns)
        .where(_expanding_or_sweeping())
        .order_by(func.coalesce(campaigns.c.updated_at, campaigns.c.created_at), campaigns.c.id)
        .limit(1)
    )
    if unit.is_postgres:
        stmt = stmt.with_for_update(skip_locked=True)
    row = (await unit.conn.execute(stmt)).one_or_none()
    if row is not None and row.state in (CANCELED, FAILED):
        return await _sweep(unit, row, now), set()
    if row is None:
        row = await _releasable(unit, now)
        if row is None:
            return False, set()
    account = await accounts_mod.get(unit, row.account_id)
    before = (row.written, row.released, row.cursor_list, row.cursor_contact, row.expanded_at, row.state)
    try:
        async with unit.conn.begin_nested():
            after, woken = await _step(unit, row, account, now)
    except DomainError as exc:
        await _fail(unit, row, exc.message, now)
        return True, set()
    return (after.written, after.released, after.cursor_list, after.cursor_contact, after.expanded_at,
            after.state) != before, woken  # fmt: skip


async def _releasable(unit: Unit, now: datetime) -> Any | None:
    """An unpaced running campaign with drafts, inside its window now; locked (skipped if another node holds it)."""
    waiting = (
        await unit.conn.execute(
            select(campaigns.c.id, campaigns.c.account_id, campaigns.c.window_start, campaigns.c.window_end)
            .where(campaigns.c.state == RUNNING, campaigns.c.pace.is_(None), campaigns.c.released < campaigns.c.written)
            .order_by(func.coalesce(campaigns.c.updated_at, campaigns.c.created_at), campaigns.c.id)
            .limit(1000)
        )
    ).all()
    zones: dict[int, Any] = {}
    for candidate in waiting:
        if candidate.window_start is not None:
            if candidate.account_id not in zones:
                zones[candidate.account_id] = (await accounts_mod.get(unit, candidate.account_id)).zone
            if not release.in_window(candidate.window_start, candidate.window_end, zones[candidate.account_id], now):
                continue
        stmt = select(campaigns).where(campaigns.c.id == candidate.id, campaigns.c.state == RUNNING)
        if unit.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        row = (await unit.conn.execute(stmt)).one_or_none()
        if row is not None:
            return row
    return None


async def release_campaigns(unit: Unit, now: datetime | None = None) -> set[int]:
    """Scheduler job: every running campaign with drafts gets what its window and pace allow now."""
    now = now or utcnow()
    stmt = (
        select(campaigns)
        .where(campaigns.c.state == RUNNING, campaigns.c.released < campaigns.c.written)
        .order_by(func.coalesce(campaigns.c.paced_at, campaigns.c.created_at), campaigns.c.id)
        .limit(500)
    )
    if unit.is_postgres:
        stmt = stmt.with_for_update(skip_locked=True)
    woken: set[int] = set()
    accounts: dict[int, Account] = {}
    for row in (await unit.conn.execute(stmt)).all():
        account = accounts.get(row.account_id) or await accounts_mod.get(unit, row.account_id)
        accounts[row.account_id] = account
        woken |= (await release.release(unit, row, account, now)).woken
    return woken


async def _fail(unit: Unit, row: Any, error: str, now: datetime) -> None:
    """A campaign that cannot go on (a body its fields made too long): failed, its drafts canceled by the sweep."""
    await unit.conn.execute(
        update(campaigns).where(campaigns.c.id == row.id).values(state=FAILED, error=error[:500], finished_at=now,
                                                                 updated_at=now)  # fmt: skip
    )


async def _sweep(unit: Unit, row: Any, now: datetime) -> bool:
    """A canceled (or failed) campaign's drafts become ``canceled``, a chunk per transaction."""
    drafts = list(
        (
            await unit.conn.execute(
                select(messages.c.id, messages.c.seq)
                .where(messages.c.batch_id == row.batch_id, messages.c.seq >= row.released_seq,
                       messages.c.state == lifecycle.DRAFT)  # fmt: skip
                .order_by(messages.c.seq)
                .limit(release.CHUNK)
            )
        ).all()
    )
    if drafts:
        await lifecycle.move(unit, [d.id for d in drafts], lifecycle.CANCELED, only_from=[lifecycle.DRAFT],
                             detail="campaign canceled")  # fmt: skip
    values: dict[str, Any] = {"updated_at": now}
    if len(drafts) < release.CHUNK:
        values["released"] = row.written
    else:
        values |= {"released": campaigns.c.released + len(drafts), "released_seq": drafts[-1].seq + 1}
    await unit.conn.execute(update(campaigns).where(campaigns.c.id == row.id).values(**values))
    return True


# --- pause, resume, cancel --------------------------------------------------------------


async def _locked(unit: Unit, account_id: int, campaign_id: int) -> Any:
    stmt = select(campaigns).where(campaigns.c.id == campaign_id, campaigns.c.account_id == account_id)
    if unit.is_postgres:
        stmt = stmt.with_for_update()
    row = (await unit.conn.execute(stmt)).one_or_none()
    if row is None:
        raise NotFound("Campaign not found")
    return row


async def _set(unit: Unit, campaign_id: int, **values: Any) -> Campaign:
    row = (
        await unit.conn.execute(
            update(campaigns).where(campaigns.c.id == campaign_id).values(updated_at=utcnow(), **values)
            .returning(*campaigns.c)
        )
    ).one()
    return _campaign(row)


async def pause(unit: Unit, account_id: int, campaign_id: int) -> Campaign:
    """No more drafts are handed out (the chunk being handed out, if any, completes); expansion goes on."""
    row = await _locked(unit, account_id, campaign_id)
    if row.state == PAUSED:
        return _campaign(row)
    if row.state != RUNNING:
        raise Conflict(f"Campaign is {row.state}: only a running campaign can be paused")
    return await _set(unit, campaign_id, state=PAUSED)


async def resume(unit: Unit, account_id: int, campaign_id: int) -> Campaign:
    """Back to running; the pace starts afresh (no burst of what the pause saved up)."""
    row = await _locked(unit, account_id, campaign_id)
    if row.state == RUNNING:
        return _campaign(row)
    if row.state != PAUSED:
        raise Conflict(f"Campaign is {row.state}: only a paused campaign can be resumed")
    campaign = await _set(unit, campaign_id, state=RUNNING, error=None, paced_at=None, pace_tokens=0.0)
    _wake(unit, set(), runner=True)
    return campaign


async def cancel(unit: Unit, account_id: int, campaign_id: int) -> Campaign:
    """Cancel every message not yet taken: those handed out now, the drafts by the worker (no phone can take a draft)."""
    row = await _locked(unit, account_id, campaign_id)
    if row.state in OVER:
        raise Conflict(f"Campaign is {row.state} already")
    now = utcnow()
    campaign = await _set(unit, campaign_id, state=CANCELED, finished_at=now)
    handed_states = sorted(lifecycle.PENDING - {lifecycle.DRAFT})
    after = 0
    while row.batch_id is not None:
        handed = (
            await unit.conn.execute(
                select(messages.c.id, messages.c.seq)
                .where(messages.c.batch_id == row.batch_id, messages.c.seq >= after, messages.c.seq < row.released_seq,
                       messages.c.state.in_(handed_states))  # fmt: skip
                .order_by(messages.c.seq)
                .limit(release.CHUNK)
            )
        ).all()
        if not handed:
            break
        await messages_mod.cancel(unit, account_id, [h.id for h in handed])
        after = handed[-1].seq + 1
    _wake(unit, set(), runner=True)
    return campaign


# --- finishing --------------------------------------------------------------------------


async def finish_campaigns(unit: Unit, now: datetime | None = None) -> None:
    """Scheduler job: a running campaign whose messages are all done becomes ``finished``.

    ``done_seq`` remembers how far every message was done, so each run reads only the
    messages that were still open last time.
    """
    stmt = (
        select(campaigns)
        .where(campaigns.c.state == RUNNING, campaigns.c.expanded_at.is_not(None),
               campaigns.c.released >= campaigns.c.written)  # fmt: skip
        .order_by(campaigns.c.id)
        .limit(50)
    )
    if unit.is_postgres:
        stmt = stmt.with_for_update(skip_locked=True)
    for row in (await unit.conn.execute(stmt)).all():
        first_open = await unit.conn.scalar(
            select(messages.c.seq)
            .where(messages.c.batch_id == row.batch_id, messages.c.seq >= row.done_seq,
                   messages.c.state.not_in(sorted(DONE_STATES)))  # fmt: skip
            .order_by(messages.c.seq)
            .limit(1)
        )
        if first_open is not None:
            if first_open != row.done_seq:
                await unit.conn.execute(update(campaigns).where(campaigns.c.id == row.id).values(done_seq=first_open))
            continue
        counted = await counts(unit, _campaign(row))
        await _finish(unit, row, counted, now)


async def _finish(unit: Unit, row: Any, counted: dict[str, int], now: datetime | None = None) -> Any:
    finished = (
        await unit.conn.execute(
            update(campaigns)
            .where(campaigns.c.id == row.id, campaigns.c.state == RUNNING)
            .values(state=FINISHED, finished_at=now or utcnow(), updated_at=now or utcnow(), done_seq=row.written)
            .returning(*campaigns.c)
        )
    ).one_or_none()
    if finished is None:
        return row
    await _announce_finished(unit, finished, counted)
    return finished


async def _announce_finished(unit: Unit, row: Any, counted: dict[str, int]) -> None:
    """The ``campaign.finished`` webhook: the campaign and how its messages ended."""
    await webhooks.emit(
        unit,
        row.account_id,
        webhooks.CAMPAIGN_FINISHED,
        {
            "campaign_id": row.id,
            "title": row.title,
            "contacts": row.contacts,
            "total": row.written,
            "delivered": counted.get("delivered", 0),
            "failed": counted.get("failed", 0),
            "sent": counted.get("sent", 0),
            "canceled": counted.get("canceled", 0),
            "opted_out": row.opted_out,
            "duplicates_skipped": row.duplicates_skipped,
        },
        order_key=f"c{row.id}",
    )
