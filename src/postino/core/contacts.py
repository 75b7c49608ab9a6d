"""Address book and campaigns: tags (groups), contacts in them, and newsletters to tags.

A contact belongs to one tag; the same person in two tags is two rows with the same
phone. A campaign names tags, a device slot and a text; when its time comes it becomes
one message per distinct phone of those tags, grouped in a batch that points back at
the campaign (so listings can show the campaign's id, title and body).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from ..db.tables import batches, campaigns, contacts, messages, tags
from . import accounts as accounts_mod
from . import lifecycle, webhooks
from . import devices as devices_mod
from . import messages as messages_mod
from . import phones
from .clock import utcnow
from .errors import DomainError, InvalidInput, NotFound
from .service import Unit

MAX_TITLE = 200


@dataclass(frozen=True)
class Tag:
    id: int
    account_id: int
    title: str


@dataclass(frozen=True)
class Contact:
    id: int
    tag_id: int
    phone: str
    fullname: str
    created: bool
    """False when the phone was already in the tag (its name was updated)."""


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
    )


# --- tags -----------------------------------------------------------------------------


async def find_tag_by_title(unit: Unit, account_id: int, title: str) -> Tag | None:
    """The account's tag called ``title`` (exact match), or None."""
    row = (
        await unit.conn.execute(
            select(tags.c.id, tags.c.title)
            .where(tags.c.account_id == account_id, tags.c.title == title.strip())
            .order_by(tags.c.id)
            .limit(1)
        )
    ).one_or_none()
    return Tag(row.id, account_id, row.title) if row else None


async def create_tag(unit: Unit, account_id: int, title: str) -> Tag:
    """A tag called ``title``; saving a title the account already has returns that tag.

    Tags are found by name (NusaSMS sends to a group by name), so two tags with one name
    would make such a send ambiguous.
    """
    title = (title or "").strip()
    if not title:
        raise InvalidInput("Tag title is required", field="title")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"Tag title longer than {MAX_TITLE} characters", field="title")
    existing = await find_tag_by_title(unit, account_id, title)
    if existing is not None:
        return existing
    tag_id = (
        await unit.conn.execute(
            insert(tags).values(account_id=account_id, title=title, created_at=utcnow()).returning(tags.c.id)
        )
    ).scalar_one()
    return Tag(int(tag_id), account_id, title)


async def get_tag(unit: Unit, account_id: int, tag_id: int) -> Tag:
    """The account's tag ``tag_id``; another account's tag is 'not found'."""
    row = (
        await unit.conn.execute(
            select(tags.c.id, tags.c.title).where(tags.c.id == tag_id, tags.c.account_id == account_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"Tag {tag_id} not found", field="tag_id")
    return Tag(row.id, account_id, row.title)


async def list_tags(unit: Unit, account_id: int) -> list[Tag]:
    rows = (
        await unit.conn.execute(
            select(tags.c.id, tags.c.title).where(tags.c.account_id == account_id).order_by(tags.c.id)
        )
    ).all()
    return [Tag(r.id, account_id, r.title) for r in rows]


# --- contacts -------------------------------------------------------------------------


async def add_contact(
    unit: Unit, account_id: int, tag_id: int, phone: str, fullname: str = "", *, fields: dict | None = None
) -> Contact:
    """Put a phone in a tag; the same phone in the same tag again updates its name.

    The phone is normalised to E.164 (the account's country for national numbers), so
    ``015752982212`` and ``+49 157 52982212`` are one contact.
    """
    account = await accounts_mod.get(unit, account_id)
    await get_tag(unit, account_id, tag_id)
    e164 = phones.normalise(phone, account.country)
    fullname = (fullname or "").strip()[:200]
    now = utcnow()
    existing = await unit.conn.scalar(
        select(contacts.c.id).where(contacts.c.tag_id == tag_id, contacts.c.phone == e164)
    )
    if existing is not None:
        values: dict[str, Any] = {"fullname": fullname, "updated_at": now}
        if fields is not None:
            values["fields"] = fields
        await unit.conn.execute(update(contacts).where(contacts.c.id == existing).values(**values))
        return Contact(int(existing), tag_id, e164, fullname, created=False)
    contact_id = (
        await unit.conn.execute(
            insert(contacts)
            .values(
                account_id=account_id,
                tag_id=tag_id,
                phone=e164,
                fullname=fullname,
                fields=fields or {},
                created_at=now,
                updated_at=now,
            )
            .returning(contacts.c.id)
        )
    ).scalar_one()
    return Contact(int(contact_id), tag_id, e164, fullname, created=True)


async def contacts_of_tags(unit: Unit, account_id: int, tag_ids: Sequence[int]) -> list[Any]:
    """One row (``phone``, ``fullname``, ``fields``) per distinct phone in any of the tags.

    A phone in several tags appears once, with the data of its first-saved entry.
    """
    if not tag_ids:
        return []
    first = (
        select(func.min(contacts.c.id))
        .where(contacts.c.account_id == account_id, contacts.c.tag_id.in_(list(tag_ids)))
        .group_by(contacts.c.phone)
    )
    rows = await unit.conn.execute(
        select(contacts.c.id, contacts.c.phone, contacts.c.fullname, contacts.c.fields)
        .where(contacts.c.id.in_(first))
        .order_by(contacts.c.id)
    )
    return list(rows.all())


async def count_contacts_of_tags(unit: Unit, account_id: int, tag_ids: Sequence[int]) -> int:
    if not tag_ids:
        return 0
    stmt = select(func.count(func.distinct(contacts.c.phone))).where(
        contacts.c.account_id == account_id, contacts.c.tag_id.in_(list(tag_ids))
    )
    return int(await unit.conn.scalar(stmt) or 0)


# --- campaigns ------------------------------------------------------------------------


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
) -> tuple[Campaign, set[int]]:
    """A newsletter to every distinct phone of ``tag_ids``.

    Due now (no ``send_at`` or a past one): its messages are created in this transaction.
    Later: the scheduler starts it (``start_due_campaigns``). Returns the campaign and
    the devices to wake.
    """
    title = (title or "").strip()
    if not title:
        raise InvalidInput("Campaign title is required", field="title")
    if not body:
        raise InvalidInput("Campaign body is required", field="body")
    unique_tags = list(dict.fromkeys(int(t) for t in tag_ids))
    if not unique_tags:
        raise InvalidInput("At least one tag is required", field="tags")
    for tag_id in unique_tags:
        await get_tag(unit, account_id, tag_id)
    channel = "sms"
    if device_id is not None:
        device = await devices_mod.get(unit, account_id, device_id)
        if not device.has_slot(slot):
            raise InvalidInput(f"Device has no sim slot {slot}", field="sim")
        channel = devices_mod.SLOT_CHANNELS[slot]
    now = utcnow()
    row = (
        await unit.conn.execute(
            insert(campaigns)
            .values(
                account_id=account_id,
                title=title[:MAX_TITLE],
                body=body,
                device_id=device_id,
                slot=slot if device_id is not None else None,
                channel=channel,
                tag_ids=unique_tags,
                send_at=send_at or now,
                state="scheduled",
                contacts=await count_contacts_of_tags(unit, account_id, unique_tags),
                created_at=now,
            )
            .returning(*campaigns.c)
        )
    ).one()
    campaign = _campaign(row)
    woken: set[int] = set()
    if campaign.send_at <= now:
        campaign, woken = await start_campaign(unit, campaign, strict=True)
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


async def start_campaign(unit: Unit, campaign: Campaign, *, strict: bool = False) -> tuple[Campaign, set[int]]:
    """Create the campaign's messages now (one per distinct phone of its tags).

    ``strict`` (a campaign started by the request that created it): a refusal (credit,
    no phone) is raised, so the caller stores nothing and tells its client. Otherwise
    (started later by the scheduler) the campaign ends ``failed`` without messages and
    the reason is kept in its batch.
    """
    account = await accounts_mod.get(unit, campaign.account_id)
    recipients = await contacts_of_tags(unit, campaign.account_id, campaign.tag_ids)
    batch_id = await messages_mod.open_batch(
        unit, campaign.account_id, "campaign", title=campaign.title, data={"campaign_id": campaign.id}, state="closed"
    )
    drafts = [
        messages_mod.Draft(
            recipient=r.phone,
            body=campaign.body,
            channel=campaign.channel,
            device_id=campaign.device_id,
            slot=campaign.slot,
            extra={"campaign_id": campaign.id, "contact_id": r.id},
        )
        for r in recipients
    ]
    state, woken, count = "started", set(), len(drafts)
    if drafts and strict:
        accepted = await messages_mod.submit(unit, account, drafts, batch_id=batch_id)
        woken = {d.device_id for d, s in zip(drafts, accepted.states) if d.device_id and s == "queued"}
    elif drafts:
        try:
            async with unit.conn.begin_nested():
                accepted = await messages_mod.submit(unit, account, drafts, batch_id=batch_id)
            woken = {d.device_id for d, s in zip(drafts, accepted.states) if d.device_id and s == "queued"}
        except DomainError as exc:
            state, count = "failed", 0
            await unit.conn.execute(
                update(batches)
                .where(batches.c.id == batch_id)
                .values(state="failed", data={"campaign_id": campaign.id, "error": exc.message}, updated_at=utcnow())
            )
    else:
        state = "finished"
    row = (
        await unit.conn.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign.id)
            .values(state=state, batch_id=batch_id, contacts=count)
            .returning(*campaigns.c)
        )
    ).one()
    if state == "finished":
        await _announce_finished(unit, row, {})
    return _campaign(row), woken


async def start_due_campaigns(unit: Unit, now: datetime | None = None) -> set[int]:
    """Scheduler job: start every campaign whose time has come; returns devices to wake."""
    now = now or utcnow()
    stmt = (
        select(campaigns)
        .where(campaigns.c.state == "scheduled", campaigns.c.send_at <= now)
        .order_by(campaigns.c.send_at, campaigns.c.id)
        .limit(20)
    )
    if unit.is_postgres:
        stmt = stmt.with_for_update(skip_locked=True)
    woken: set[int] = set()
    for row in (await unit.conn.execute(stmt)).all():
        _campaign_row, devices = await start_campaign(unit, _campaign(row))
        woken |= devices
    return woken


DONE_STATES = lifecycle.FINAL | {lifecycle.DELIVERED}
"""A campaign is finished when each of its messages is in one of these (delivered: a read may follow, nothing else)."""


async def finish_campaigns(unit: Unit, now: datetime | None = None) -> None:
    """Scheduler job: a started campaign whose messages are all done becomes ``finished``."""
    stmt = select(campaigns).where(campaigns.c.state == "started").order_by(campaigns.c.id).limit(50)
    if unit.is_postgres:
        stmt = stmt.with_for_update(skip_locked=True)
    for row in (await unit.conn.execute(stmt)).all():
        counts = dict(
            (
                await unit.conn.execute(
                    select(messages.c.state, func.count()).where(messages.c.batch_id == row.batch_id).group_by(messages.c.state)
                )
            ).all()
        )
        if any(state not in DONE_STATES for state in counts):
            continue
        finished = (
            await unit.conn.execute(
                update(campaigns)
                .where(campaigns.c.id == row.id, campaigns.c.state == "started")
                .values(state="finished")
                .returning(*campaigns.c)
            )
        ).one_or_none()
        if finished is not None:
            await _announce_finished(unit, finished, counts)


async def _announce_finished(unit: Unit, row: Any, counts: dict[str, int]) -> None:
    """The ``campaign.finished`` webhook: the campaign and how its messages ended."""
    delivered = counts.get(lifecycle.DELIVERED, 0) + counts.get(lifecycle.READ, 0)
    await webhooks.emit(
        unit,
        row.account_id,
        webhooks.CAMPAIGN_FINISHED,
        {
            "campaign_id": row.id,
            "title": row.title,
            "contacts": row.contacts,
            "delivered": delivered,
            "failed": sum(counts.values()) - delivered,
        },
        order_key=f"c{row.id}",
    )


def _register_job() -> None:
    from ..dispatch.scheduler import register_job

    register_job("start_due_campaigns", start_due_campaigns)
    register_job("finish_campaigns", finish_campaigns)


_register_job()
