"""The media store: uploaded or fetched files, served at unguessable public URLs.

Files live in ``<data_dir>/media/<id>``; the id is 32 random hex characters, so the
URL is the capability. The type is read from the bytes, never from a name or header.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import puremagic
from sqlalchemy import insert, select

from ...db.tables import media
from ..accounts import secrets
from ..clock import utcnow
from ..errors import InvalidInput, NotFound
from ..service import Unit

EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "application/pdf": "pdf",
    "video/mp4": "mp4",
    "video/webm": "webm",
}


@dataclass(frozen=True)
class Stored:
    id: str
    content_type: str
    size: int
    url: str


def sniff(data: bytes) -> str | None:
    """The MIME type the bytes say they are, or None."""
    if not data:
        return None
    try:
        return puremagic.from_string(data[:8192], mime=True) or None
    except puremagic.PureError:
        return None


def media_path(unit: Unit, media_id: str) -> Path:
    return unit.settings.media_dir / media_id


async def store(
    unit: Unit,
    account_id: int,
    data: bytes,
    *,
    allowed: Collection[str],
    max_bytes: int,
    file_name: str = "",
) -> Stored:
    """Check type and size, write the file, record it; the caller's transaction owns the row."""
    if len(data) > max_bytes:
        raise InvalidInput(f"File exceeds {max_bytes // 1024} KB", field="file")
    content_type = sniff(data)
    if content_type not in allowed:
        raise InvalidInput("File type not allowed", field="file")
    media_id = secrets.token_hex(16)
    path = media_path(unit, media_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    await unit.conn.execute(
        insert(media).values(
            id=media_id,
            account_id=account_id,
            content_type=content_type,
            size=len(data),
            file_name=file_name[:200],
            created_at=utcnow(),
        )
    )
    return Stored(media_id, content_type, len(data), public_url(unit, media_id, content_type))


def public_url(unit: Unit, media_id: str, content_type: str) -> str:
    ext = EXTENSIONS.get(content_type, "bin")
    return f"{unit.settings.resolved_public_url()}/media/{media_id}.{ext}"


async def lookup(unit: Unit, media_id: str) -> tuple[Path, str]:
    row = (await unit.conn.execute(select(media).where(media.c.id == media_id))).one_or_none()
    if row is None:
        raise NotFound("No such media")
    return media_path(unit, media_id), row.content_type
