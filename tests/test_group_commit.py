"""The group-commit writer: one transaction for concurrent writes, one savepoint each."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Connection, insert, make_url, select

from postino.core.clock import utcnow
from postino.core.service import Core
from postino.db.engine import Database
from postino.db.prepared import raw
from postino.db.tables import tags
from tests.conftest import make_account
from tests.support import wait_for, with_every_pooled_connection_held


def _add_tag(account_id: int, title: str, fail: bool = False):
    def work(conn: Connection) -> int:
        new_id = conn.execute(insert(tags).values(account_id=account_id, title=title, created_at=utcnow()).returning(tags.c.id)).scalar_one()
        if fail:
            raise ValueError(f"refused {title}")
        return new_id

    return work


async def _titles(database_url: str) -> set[str]:
    """Read through a separate engine: what is committed, not what one connection sees."""
    db = Database(database_url.replace("sqlite://", "sqlite+aiosqlite://").replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with db.read() as conn:
            return {r[0] for r in (await conn.execute(select(tags.c.title))).all()}
    finally:
        await db.dispose()


async def test_one_failing_write_does_not_spoil_the_others(core: Core, database_url: str) -> None:
    account = await make_account(core)
    works = [_add_tag(account.id, f"tag {i}", fail=(i == 3)) for i in range(8)]
    results = await asyncio.gather(*(core.db.writer.run(w) for w in works), return_exceptions=True)
    assert isinstance(results[3], ValueError) and str(results[3]) == "refused tag 3"
    assert all(isinstance(r, int) for i, r in enumerate(results) if i != 3)
    assert await _titles(database_url) == {f"tag {i}" for i in range(8) if i != 3}


async def test_an_answered_write_is_already_committed(core: Core, database_url: str) -> None:
    account = await make_account(core)
    for i in range(3):
        await core.db.writer.run(_add_tag(account.id, f"seen {i}"))
        assert f"seen {i}" in await _titles(database_url)


async def test_concurrent_writes_share_transactions(core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    from postino.db import writer as writer_mod

    sizes: list[int] = []
    original = writer_mod.run_group

    def counting(conn, items):
        sizes.append(len(items))
        return original(conn, items)

    monkeypatch.setattr(writer_mod, "run_group", counting)
    account = await make_account(core)
    await asyncio.gather(*(core.db.writer.run(_add_tag(account.id, f"many {i}")) for i in range(50)))
    assert sum(sizes) == 50
    assert len(sizes) < 50  # at least one COMMIT served several writes


async def test_the_wal_reaches_the_database_file_outside_the_writers_commits(core: Core, database_url: str) -> None:
    """A COMMIT never copies the WAL back (that stalls every waiting request); the checkpointer does."""
    if not core.db.is_sqlite:
        pytest.skip("the WAL and its checkpoints are SQLite's")
    path = Path(make_url(database_url).database or "")
    account = await make_account(core)
    await core.db.writer.run(_add_tag(account.id, "first"))
    assert await core.db.writer.run(lambda conn: raw(conn, "PRAGMA wal_autocheckpoint")) == [(0,)]
    before = path.stat().st_size
    body = "x" * 400
    await asyncio.gather(*(core.db.writer.run(_add_tag(account.id, f"{body} {i}")) for i in range(3000)))
    await wait_for(lambda: path.stat().st_size > before + 1_000_000, message="the rows copied into the file")
    assert len(await _titles(database_url)) == 3001


async def test_readers_map_the_file_and_the_writer_does_not(core: Core, settings) -> None:  # noqa: ANN001
    """Mapped reads survive other connections' writes; the writer's few reads stay out of the RSS."""
    if not core.db.is_sqlite:
        pytest.skip("SQLite's memory map")
    assert settings.sqlite_mmap_bytes == 1024 * 1024 * 1024
    async with core.db.read() as conn:
        assert (await conn.exec_driver_sql("PRAGMA mmap_size")).scalar_one() == settings.sqlite_mmap_bytes
    assert await core.db.writer.run(lambda conn: raw(conn, "PRAGMA mmap_size")) == [(0,)]
    unmapped = Database(core.db.url, mmap_bytes=0)
    try:
        async with unmapped.read() as conn:
            assert (await conn.exec_driver_sql("PRAGMA mmap_size")).scalar_one() == 0
    finally:
        await unmapped.dispose()


async def test_requests_that_hold_every_pooled_reader_still_get_their_writes(core: Core) -> None:
    """Sends that hold a reader while the group writer writes for them, and a write unit (a
    scheduler tick) that starts meanwhile: the unit must not take the writers' turn before
    it has its connection, or the writer waits for the turn while the unit waits for the pool."""
    account = await make_account(core)
    ticking: list[asyncio.Task] = []

    async def tick() -> None:
        async with core.unit() as unit:
            await unit.conn.execute(insert(tags).values(account_id=account.id, title="tick", created_at=utcnow()))

    async def send(i: int, _unit: object) -> int:
        if not ticking:  # the unit starts while every connection is held
            ticking.append(asyncio.create_task(tick()))
            for _ in range(10):  # let it run up to its first wait
                await asyncio.sleep(0)
        return await core.db.writer.run(_add_tag(account.id, f"send {i}"))

    ids = await with_every_pooled_connection_held(core, send)
    assert len(set(ids)) == len(ids)
    await asyncio.wait_for(ticking[0], 20)
    async with core.reader() as unit:
        titles = {r[0] for r in await unit.conn.execute(select(tags.c.title))}
    assert titles == {f"send {i}" for i in range(len(ids))} | {"tick"}
