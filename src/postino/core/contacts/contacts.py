"""The address book: tags (groups) and the contacts in them.

A contact belongs to one tag; the same person in two tags is two rows with the same
phone. Saving a phone a tag already holds updates its name. Numbers are normalised with
the account's country, so one person is one phone however it was typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update

from ...db.tables import contacts, tags
from ..accounts import accounts as accounts_mod
from ..clock import utcnow
from ..errors import InvalidInput, NotFound
from ..messages import numbers
from ..service import Unit

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
    e164 = numbers.normalise(phone, account.country)
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
