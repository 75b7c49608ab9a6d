"""Contacts: a phone in a list, with a name and custom fields.

A phone is unique per list; the same person in two lists is two rows with the same
phone. Saving a phone a list already holds updates its name. Numbers are normalised with
the account's country, so one person is one phone however it was typed. ``fields`` are
the custom values a campaign body's ``{{placeholders}}`` read.

The list functions live in ``lists``; the names the dialects have always called
(``create_tag``, ``find_tag_by_title`` …) are kept here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, insert, literal_column, or_, select, update

from ...db.tables import contacts, optouts
from ..accounts import accounts as accounts_mod
from ..clock import utcnow
from ..errors import InvalidInput, NotFound
from ..messages import numbers
from ..service import Unit
from .lists import MAX_PAGE, MAX_TITLE, Tag, create_tag, find_tag_by_title, get_tag, list_tags, plain

__all__ = [
    "MAX_TITLE", "Contact", "ContactRow", "Tag", "add_contact", "check_fields", "contacts_of_tags",
    "count_contacts_of_tags", "count_recipients", "create_tag", "find_tag_by_title", "get_contact", "get_tag",
    "list_tags", "lookup", "page", "remove", "update_contact",
]  # fmt: skip

MAX_NAME = 200
MAX_FIELDS = 50
MAX_FIELD_NAME = 64
MAX_FIELD_VALUE = 1000


@dataclass(frozen=True)
class Contact:
    id: int
    tag_id: int
    phone: str
    fullname: str
    created: bool
    """False when the phone was already in the tag (its name was updated)."""


@dataclass(frozen=True)
class ContactRow:
    """A stored contact as listings show it."""

    id: int
    list_id: int
    phone: str
    fullname: str
    fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "list_id": self.list_id,
            "phone": self.phone,
            "name": self.fullname,
            "fields": self.fields,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


def lookup(subquery: Select) -> Any:
    """``EXISTS (subquery)`` checked row by row in its index, whatever the planner's statistics say.

    ``OFFSET 0`` keeps PostgreSQL from turning the check into a join: freshly imported
    contacts or opt-outs have no statistics yet, and a join planned on none can read the
    whole other table once per contact (37 s instead of 0.3 s for 130,000 contacts).
    Probing the key costs the same whatever the sizes, as it always does on SQLite.
    """
    return subquery.offset(0).exists()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds").replace("+00:00", "Z")


def _row(r: Any) -> ContactRow:
    return ContactRow(r.id, r.tag_id, r.phone, r.fullname, dict(r.fields or {}), r.created_at, r.updated_at)


def check_fields(fields: Any) -> dict[str, Any]:
    """Custom fields: at most 50, names up to 64 characters, values plain (text, number, true/false)."""
    if fields is None:
        return {}
    if not isinstance(fields, dict):
        raise InvalidInput("fields must be an object", field="fields")
    if len(fields) > MAX_FIELDS:
        raise InvalidInput(f"At most {MAX_FIELDS} fields per contact", field="fields")
    checked: dict[str, Any] = {}
    for name, value in fields.items():
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_FIELD_NAME or "\x00" in name:
            raise InvalidInput(f"A field name must be 1 to {MAX_FIELD_NAME} characters", field="fields")
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise InvalidInput(f"Field {name!r} must be text, a number or true/false", field="fields")
        if isinstance(value, str) and (len(value) > MAX_FIELD_VALUE or "\x00" in value):
            raise InvalidInput(f"Field {name!r} longer than {MAX_FIELD_VALUE} characters", field="fields")
        checked[name.strip()] = value
    return checked


def _name(fullname: str | None) -> str:
    name = (fullname or "").strip()[:MAX_NAME]
    if "\x00" in name:
        raise InvalidInput("name may not hold a NUL character", field="name")
    return name


async def add_contact(
    unit: Unit, account_id: int, tag_id: int, phone: str, fullname: str = "", *, fields: dict | None = None
) -> Contact:
    """Put a phone in a tag; the same phone in the same tag again updates its name (and fields, if given).

    The phone is normalised to E.164 (the account's country for national numbers), so
    ``015752982212`` and ``+49 157 52982212`` are one contact.
    """
    account = await accounts_mod.get(unit, account_id)
    await get_tag(unit, account_id, tag_id)
    e164 = numbers.normalise(phone, account.country)
    fullname = _name(fullname)
    checked = check_fields(fields) if fields is not None else None
    now = utcnow()
    existing = await unit.conn.scalar(
        select(contacts.c.id).where(contacts.c.tag_id == tag_id, contacts.c.phone == e164)
    )
    if existing is not None:
        values: dict[str, Any] = {"fullname": fullname, "updated_at": now}
        if checked is not None:
            values["fields"] = checked
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
                fields=checked or {},
                created_at=now,
                updated_at=now,
            )
            .returning(contacts.c.id)
        )
    ).scalar_one()
    return Contact(int(contact_id), tag_id, e164, fullname, created=True)


async def get_contact(unit: Unit, account_id: int, contact_id: int) -> ContactRow:
    row = (
        await unit.conn.execute(
            select(contacts).where(contacts.c.id == contact_id, contacts.c.account_id == account_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("Contact not found")
    return _row(row)


async def update_contact(
    unit: Unit, account_id: int, contact_id: int, *, fullname: str | None = None, fields: dict | None = None
) -> ContactRow:
    """Change a contact's name or fields (its number is what it is: add it again to change it)."""
    await get_contact(unit, account_id, contact_id)
    values: dict[str, Any] = {"updated_at": utcnow()}
    if fullname is not None:
        values["fullname"] = _name(fullname)
    if fields is not None:
        values["fields"] = check_fields(fields)
    await unit.conn.execute(update(contacts).where(contacts.c.id == contact_id).values(**values))
    return await get_contact(unit, account_id, contact_id)


async def remove(unit: Unit, account_id: int, contact_id: int) -> None:
    await get_contact(unit, account_id, contact_id)
    await unit.conn.execute(delete(contacts).where(contacts.c.id == contact_id))


async def page(
    unit: Unit,
    account_id: int,
    *,
    list_id: int | None = None,
    q: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> tuple[list[ContactRow], int | None]:
    """Contacts in id order after ``after``; ``q`` matches digits of the number or text of the name."""
    limit = max(1, min(limit, MAX_PAGE))
    stmt = select(contacts).where(contacts.c.account_id == account_id, contacts.c.id > after)
    if list_id is not None:
        stmt = stmt.where(contacts.c.tag_id == list_id)
    text = plain(q, "q").strip()
    if text:
        digits = "".join(ch for ch in text if ch.isdigit())
        matches = [func.lower(contacts.c.fullname).contains(text.lower(), autoescape=True)]
        if digits:
            matches.append(contacts.c.phone.contains(digits, autoescape=True))
        stmt = stmt.where(or_(*matches))
    rows = (await unit.conn.execute(stmt.order_by(contacts.c.id).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return [_row(r) for r in rows], (rows[-1].id if more else None)


async def contacts_of_tags(
    unit: Unit, account_id: int, tag_ids: Sequence[int], *, after: int = 0, limit: int = MAX_PAGE
) -> list[Any]:
    """One row (``id``, ``phone``, ``fullname``, ``fields``) per distinct phone in any of the tags, a page at a time.

    A phone in several tags appears once, with the data of its first-saved entry. Pages
    follow ``id``: the next one starts after the last row's id. Campaigns do not read
    through this (``expansion`` streams and skips opt-outs); it is for small listings.
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
        .where(contacts.c.id.in_(first), contacts.c.id > after)
        .order_by(contacts.c.id)
        .limit(max(1, min(limit, MAX_PAGE)))
    )
    return list(rows.all())


async def count_contacts_of_tags(unit: Unit, account_id: int, tag_ids: Sequence[int]) -> int:
    """Distinct phones in the tags (opted-out ones included)."""
    if not tag_ids:
        return 0
    stmt = select(func.count(func.distinct(contacts.c.phone))).where(
        contacts.c.account_id == account_id, contacts.c.tag_id.in_(list(tag_ids))
    )
    return int(await unit.conn.scalar(stmt) or 0)


async def count_recipients(unit: Unit, account_id: int, tag_ids: Sequence[int]) -> int:
    """Distinct phones in the tags that have not opted out: the messages a campaign to them writes."""
    if not tag_ids:
        return 0
    opted = lookup(select(literal_column("1")).where(optouts.c.account_id == account_id, optouts.c.phone == contacts.c.phone))
    stmt = select(func.count(func.distinct(contacts.c.phone))).where(
        contacts.c.account_id == account_id, contacts.c.tag_id.in_(list(tag_ids)), ~opted
    )
    return int(await unit.conn.scalar(stmt) or 0)
