"""Migrations build exactly the schema the code describes, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from postino.core.service import Core
from postino.db.migrate import current_revision
from postino.db.tables import metadata


async def test_migrated_schema_matches_the_tables_module(core: Core) -> None:
    def diff(sync_conn):  # noqa: ANN001, ANN202
        context = MigrationContext.configure(sync_conn, opts={"compare_type": False})
        return compare_metadata(context, metadata)

    async with core.reader() as unit:
        assert await current_revision(unit.conn) is not None
        differences = await unit.conn.run_sync(diff)
    assert differences == [], "tables.py changed without a migration: run postino migrate --new MESSAGE"
