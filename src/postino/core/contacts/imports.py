"""Importing an address book into a list: columns found by name, every row checked, all or nothing.

The header names the columns. ``phone`` is found as ``phone``, ``number``, ``telefono``,
``numero``, ``nomor``, ``mobile`` or ``gsm``; ``name`` as ``name``, ``fullname``,
``nome`` or ``nama`` (any case); every other named column becomes a custom field. A
mapping (``phone=Telefono,name=Nome``, or ``city=Città`` to name a field) overrides the
guess. A bad row (no phone, a number libphonenumber calls invalid for the account's
country, more cells than the header) is reported with its line and reason. With any bad
row nothing is imported, unless ``skip_bad``: then the good rows are. A phone the list
already holds is updated (its name, and its fields merged), as ``savecontact`` does.

Rows are checked and written a chunk at a time inside the caller's transaction, so a
refusal found at the last row still takes back the first ones, and memory stays one
chunk whatever the file holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from sqlalchemy import bindparam, insert, select, update

from ...db.tables import contacts
from ..accounts.accounts import Account
from ..clock import utcnow
from ..errors import InvalidInput
from ..messages import numbers
from ..service import Unit
from .contacts import MAX_FIELD_NAME, MAX_FIELD_VALUE, MAX_FIELDS, MAX_NAME
from .lists import get_tag
from .sheets import Row, Sheet

SYNONYMS: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "number", "telefono", "numero", "nomor", "mobile", "gsm"),
    "name": ("name", "fullname", "nome", "nama"),
}
CHUNK = 1000
MAX_REPORTED = 1000
"""Bad rows listed in a report at most (``bad_count`` has them all)."""


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


@dataclass
class Report:
    list_id: int
    imported: int = 0
    updated: int = 0
    total: int = 0
    bad: list[BadRow] = field(default_factory=list)
    bad_count: int = 0

    def public(self) -> dict[str, Any]:
        return {
            "list_id": self.list_id,
            "imported": self.imported,
            "updated": self.updated,
            "bad": [{"line": b.line, "reason": b.reason} for b in self.bad],
            "bad_count": self.bad_count,
            "total": self.total,
        }


class ImportRejected(InvalidInput):
    """Bad rows and no ``skip_bad``: nothing was imported; ``report`` says which rows and why."""

    def __init__(self, report: Report) -> None:
        super().__init__(f"{report.bad_count} bad rows: nothing imported (skip them to import the rest)", field="file")
        self.report = report


@dataclass(frozen=True)
class Columns:
    """Where each thing is in a row: the phone's and the name's cell, and each field's."""

    phone: int
    name: int | None
    fields: dict[str, int]
    width: int


def parse_mapping(text: str | None) -> dict[str, str]:
    """``phone=Telefono,name=Nome`` as ``{"phone": "Telefono", "name": "Nome"}``."""
    found: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, sep, column = part.partition("=")
        if not sep or not key.strip() or not column.strip():
            raise InvalidInput(f"A mapping is what=column, e.g. phone=Telefono (got {part.strip()!r})", field="map")
        found[key.strip().lower() if key.strip().lower() in SYNONYMS else key.strip()] = column.strip()
    return found


def _key(text: str) -> str:
    return text.strip().strip('"').strip().lower()


def columns(header: list[str], mapping: dict[str, str] | None = None) -> Columns:
    """Find the columns in ``header``; an unknown mapped column or no phone column is a fatal error."""
    keys = [_key(h) for h in header]
    mapping = mapping or {}

    def index_of(column: str) -> int:
        wanted = _key(column)
        if wanted not in keys:
            raise InvalidInput(f"No column {column!r} in the header ({', '.join(h for h in header if h)})", field="map")
        return keys.index(wanted)

    chosen: dict[str, int] = {target: index_of(column) for target, column in mapping.items()}
    for role, names in SYNONYMS.items():
        if role not in chosen:
            found = next((keys.index(n) for n in names if n in keys and keys.index(n) not in chosen.values()), None)
            if found is not None:
                chosen[role] = found
    if "phone" not in chosen:
        raise InvalidInput(
            f"No phone column: name one {', '.join(SYNONYMS['phone'])}, or map it (phone=<column>)", field="map"
        )
    if any("\x00" in h for h in header):
        raise InvalidInput("The header holds a NUL character", field="file")
    taken = set(chosen.values())
    fields = {target: i for target, i in chosen.items() if target not in SYNONYMS}
    for i, title in enumerate(header):
        name = title.strip().strip('"').strip()
        if i not in taken and name:
            fields[name[:MAX_FIELD_NAME]] = i
    if len(fields) > MAX_FIELDS:
        raise InvalidInput(f"At most {MAX_FIELDS} custom-field columns (the file has {len(fields)})", field="file")
    return Columns(chosen["phone"], chosen.get("name"), fields, len(header))


@dataclass(frozen=True)
class Good:
    line: int
    phone: str
    name: str | None
    """None when the file has no name column: a known contact keeps its name."""
    fields: dict[str, str]


def check(row: Row, cols: Columns, country: str) -> Good | BadRow:
    """One row as a contact, or why it is not one."""
    cells = row.cells
    if len(cells) > cols.width and any(c.strip() for c in cells[cols.width :]):
        return BadRow(row.line, f"{len(cells)} cells, more than the header's {cols.width}")
    raw = cells[cols.phone].strip() if cols.phone < len(cells) else ""
    if not raw:
        return BadRow(row.line, "no phone number")
    try:
        e164 = numbers.normalise(raw, country)
    except InvalidInput:
        return BadRow(row.line, f"not a phone number: {raw[:40]!r}")
    if not phonenumbers.is_valid_number(phonenumbers.parse(e164, None)):
        return BadRow(row.line, f"not a valid number for {country}: {raw[:40]!r}")
    name = None if cols.name is None else (cells[cols.name].strip()[:MAX_NAME] if cols.name < len(cells) else "")
    values = {
        key: cells[i].strip()[:MAX_FIELD_VALUE]
        for key, i in cols.fields.items()
        if i < len(cells) and cells[i].strip()
    }
    if "\x00" in (name or "") or any("\x00" in v for v in values.values()):
        return BadRow(row.line, "a cell holds a NUL character")
    return Good(row.line, e164, name, values)


async def import_sheet(
    unit: Unit,
    account: Account,
    list_id: int,
    sheet: Sheet,
    *,
    mapping: dict[str, str] | None = None,
    skip_bad: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Import ``sheet`` into the list; raises ``ImportRejected`` (the caller rolls back) on bad rows without ``skip_bad``."""
    await get_tag(unit, account.id, list_id)
    cols = columns(sheet.header, mapping)
    report = Report(list_id)
    chunk: list[Good] = []
    for row in sheet.rows:
        report.total += 1
        found = check(row, cols, account.country)
        if isinstance(found, BadRow):
            report.bad_count += 1
            if len(report.bad) < MAX_REPORTED:
                report.bad.append(found)
        else:
            chunk.append(found)
        if len(chunk) >= CHUNK:
            await _flush(unit, account.id, list_id, chunk, report, write=skip_bad or not report.bad_count)
            chunk = []
        if progress is not None and report.total % 250 == 0:
            progress(report.total)
    await _flush(unit, account.id, list_id, chunk, report, write=skip_bad or not report.bad_count)
    if progress is not None:
        progress(report.total)
    if report.bad_count and not skip_bad:
        raise ImportRejected(Report(list_id, 0, 0, report.total, report.bad, report.bad_count))
    return report


async def _flush(unit: Unit, account_id: int, list_id: int, rows: list[Good], report: Report, *, write: bool) -> None:
    """Write one chunk: new phones inserted, known ones updated (the last row of a phone wins)."""
    latest = {g.phone: g for g in rows}
    if not latest or not write:
        return
    known = {
        r.phone: r
        for r in (
            await unit.conn.execute(
                select(contacts.c.id, contacts.c.phone, contacts.c.fullname, contacts.c.fields).where(
                    contacts.c.tag_id == list_id, contacts.c.phone.in_(list(latest))
                )
            )
        ).all()
    }
    now = utcnow()
    new = [
        {"account_id": account_id, "tag_id": list_id, "phone": g.phone, "fullname": g.name or "", "fields": g.fields,
         "created_at": now, "updated_at": now}
        for phone, g in latest.items() if phone not in known
    ]  # fmt: skip
    changed = [
        {"b_id": known[phone].id, "b_name": known[phone].fullname if g.name is None else g.name,
         "b_fields": {**(known[phone].fields or {}), **g.fields},
         "b_at": now}
        for phone, g in latest.items() if phone in known
    ]  # fmt: skip
    if new:
        await unit.conn.execute(insert(contacts), new)
    if changed:
        await unit.conn.execute(
            update(contacts)
            .where(contacts.c.id == bindparam("b_id"))
            .values(
                fullname=bindparam("b_name"),
                fields=bindparam("b_fields", type_=contacts.c.fields.type),
                updated_at=bindparam("b_at", type_=contacts.c.updated_at.type),
            ),
            changed,
        )
    report.imported += len(new)
    report.updated += len(changed) + len(rows) - len(latest)  # a phone twice in one chunk: its second row updates
