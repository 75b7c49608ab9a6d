"""Campaigns (newsletters): one text to every distinct phone of some tags, at a set time.

When its time comes a campaign becomes one message per distinct phone of its tags,
grouped in a batch that points back at the campaign (so listings can show the
campaign's id, title and body). Two scheduler jobs drive it: ``start_due_campaigns``
and ``finish_campaigns`` (``campaign.finished`` when all its messages are done).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from ...db.tables import batches, campaigns, messages
from ..accounts import accounts as accounts_mod
from ..clock import utcnow
from ..devices import devices as devices_mod
from ..errors import DomainError, InvalidInput, NotFound
from ..events import webhooks
from ..messages import lifecycle
from ..messages import messages as messages_mod
from ..service import Unit
from .contacts import MAX_TITLE, contacts_of_tags, count_contacts_of_tags, get_tag


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
