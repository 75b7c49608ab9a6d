"""Contact lists: what SmsGateway24 calls tags and NusaSMS groups.

A list belongs to one account and its title is unique there: NusaSMS sends to a group
by name, so two lists with one name would make such a send ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from ...db.tables import contacts, tags
from ..clock import utcnow
from ..errors import Conflict, InvalidInput, NotFound
from ..service import Unit

MAX_TITLE = 200
MAX_PAGE = 1000


@dataclass(frozen=True)
class Tag:
    id: int
    account_id: int
    title: str


@dataclass(frozen=True)
class ListInfo:
    """A list as listings show it: with how many contacts it holds."""

    id: int
    title: str
    contacts: int
    created_at: datetime

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "contacts": self.contacts, "created_at": _iso(self.created_at)}


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds").replace("+00:00", "Z")


def plain(text: str | None, field: str) -> str:
    """Text a user typed, without the NUL character PostgreSQL cannot store (searches and cursors too)."""
    if text and "\x00" in text:
        raise InvalidInput(f"{field} may not hold a NUL character", field=field)
    return text or ""


def check_title(title: str | None) -> str:
    title = (title or "").strip()
    if not title:
        raise InvalidInput("Tag title is required", field="title")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"Tag title longer than {MAX_TITLE} characters", field="title")
    if "\x00" in title:
        raise InvalidInput("Tag title may not hold a NUL character", field="title")
    return title


async def find_tag_by_title(unit: Unit, account_id: int, title: str) -> Tag | None:
    """The account's list called ``title`` (exact match after trimming), or None."""
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
    """A list called ``title``; a title the account already has returns that list."""
    title = check_title(title)
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
    """The account's list ``tag_id``; another account's list is 'not found'."""
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


async def rename(unit: Unit, account_id: int, tag_id: int, title: str) -> Tag:
    await get_tag(unit, account_id, tag_id)
    title = check_title(title)
    other = await find_tag_by_title(unit, account_id, title)
    if other is not None and other.id != tag_id:
        raise Conflict(f"The account already has a list called {title!r}", field="title")
    await unit.conn.execute(update(tags).where(tags.c.id == tag_id).values(title=title))
    return Tag(tag_id, account_id, title)


async def remove(unit: Unit, account_id: int, tag_id: int) -> int:
    """Delete a list and its contacts; how many contacts went with it."""
    await get_tag(unit, account_id, tag_id)
    gone = await unit.conn.execute(delete(contacts).where(contacts.c.tag_id == tag_id))
    await unit.conn.execute(delete(tags).where(tags.c.id == tag_id))
    return int(gone.rowcount or 0)


async def info(unit: Unit, account_id: int, tag_id: int) -> ListInfo:
    found, _ = await page(unit, account_id, ids=[tag_id])
    if not found:
        raise NotFound(f"Tag {tag_id} not found", field="tag_id")
    return found[0]


async def page(
    unit: Unit,
    account_id: int,
    *,
    q: str | None = None,
    after: int = 0,
    limit: int = 100,
    ids: list[int] | None = None,
) -> tuple[list[ListInfo], int | None]:
    """Lists in id order after ``after`` (titles containing ``q``), and the cursor of the next page."""
    limit = max(1, min(limit, MAX_PAGE))
    stmt = select(tags.c.id, tags.c.title, tags.c.created_at).where(tags.c.account_id == account_id, tags.c.id > after)
    if q:
        stmt = stmt.where(func.lower(tags.c.title).contains(plain(q, "q").strip().lower(), autoescape=True))
    if ids is not None:
        stmt = stmt.where(tags.c.id.in_(ids))
    rows = (await unit.conn.execute(stmt.order_by(tags.c.id).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    counts: dict[int, int] = {}
    if rows:
        counts = dict(
            (
                await unit.conn.execute(
                    select(contacts.c.tag_id, func.count())
                    .where(contacts.c.tag_id.in_([r.id for r in rows]))
                    .group_by(contacts.c.tag_id)
                )
            ).all()
        )
    found = [ListInfo(r.id, r.title, int(counts.get(r.id, 0)), r.created_at) for r in rows]
    return found, (rows[-1].id if more else None)
