"""SQLite through aiosqlite, one trip to the connection's thread per statement."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, exc, insert, select, text, update

from postino.db.engine import Database
from postino.db.sqlite_driver import DRIVER, SQLiteDialect_postino, one_trip_url

meta = MetaData()
notes = Table("notes", meta, Column("id", Integer, primary_key=True), Column("title", String, unique=True))


@pytest.fixture
async def db(tmp_path: Path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'notes.db'}")
    async with database.begin() as conn:
        await conn.run_sync(meta.create_all)
    yield database
    await database.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The calls handed to the connections' threads, by what they run."""
    seen: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        seen.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return seen


def test_the_sqlite_url_settings_make_runs_on_this_dialect() -> None:
    assert one_trip_url("sqlite+aiosqlite:////data/postino.db") == f"sqlite+{DRIVER}:////data/postino.db"
    assert one_trip_url("postgresql+asyncpg://u:p@db/postino") == "postgresql+asyncpg://u:p@db/postino"
    database = Database("sqlite+aiosqlite:////tmp/x.db")
    assert isinstance(database.engine.dialect, SQLiteDialect_postino)
    assert isinstance(database.cache_engine.dialect, SQLiteDialect_postino)
    assert database.is_sqlite and database.url == "sqlite+aiosqlite:////tmp/x.db"


async def test_a_select_is_one_trip(db: Database, trips: list[str]) -> None:
    async with db.begin() as conn:
        await conn.execute(insert(notes), [{"title": "a"}, {"title": "b"}])
    async with db.read() as conn:
        await conn.execute(text("SELECT 1"))  # BEGIN happens here
        trips.clear()
        rows = (await conn.execute(select(notes.c.title).order_by(notes.c.id))).all()
        assert trips == ["_run"]  # SQLAlchemy's own adapter: cursor, execute, fetchall, close
    assert [r.title for r in rows] == ["a", "b"]


async def test_row_counts_ids_and_returning(db: Database) -> None:
    async with db.begin() as conn:
        first = await conn.execute(insert(notes).values(title="one"))
        assert first.inserted_primary_key == (1,)
        many = await conn.execute(insert(notes), [{"title": "two"}, {"title": "three"}])
        assert many.rowcount == 2
        back = await conn.execute(insert(notes).values(title="four").returning(notes.c.id, notes.c.title))
        assert back.all() == [(4, "four")]
        changed = await conn.execute(update(notes).where(notes.c.id > 1).values(title=notes.c.title + "!"))
        assert changed.rowcount == 3
        none = await conn.execute(update(notes).where(notes.c.id > 100).values(title="x"))
        assert none.rowcount == 0
    async with db.read() as conn:
        titles = (await conn.execute(select(notes.c.title).order_by(notes.c.id))).scalars().all()
        assert titles == ["one", "two!", "three!", "four!"]
        assert (await conn.execute(select(notes.c.id).where(notes.c.id == 99))).first() is None
        one = await conn.execute(select(notes.c.id, notes.c.title).where(notes.c.id == 1))
        assert list(one.keys()) == ["id", "title"]
        assert one.one() == (1, "one")


async def test_a_failed_statement_raises_the_dbapi_error_and_rolls_back(db: Database) -> None:
    with pytest.raises(exc.IntegrityError):
        async with db.begin() as conn:
            await conn.execute(insert(notes).values(title="same"))
            await conn.execute(insert(notes).values(title="same"))
    with pytest.raises(exc.OperationalError, match="no such table"):
        async with db.read() as conn:
            await conn.execute(text("SELECT * FROM missing"))
    async with db.read() as conn:
        assert (await conn.execute(select(notes))).all() == []


async def test_streamed_results_still_fetch_as_they_go(db: Database) -> None:
    async with db.begin() as conn:
        await conn.execute(insert(notes), [{"title": f"n{i}"} for i in range(250)])
    async with db.read() as conn:
        result = await conn.stream(select(notes.c.id).order_by(notes.c.id))
        ids = [row.id async for row in result]
    assert ids == list(range(1, 251))
