"""Apply the Alembic migrations shipped inside the package."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from .engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x706F7374  # "post": the advisory lock key that serialises migrations


class Sealer(Protocol):
    """What migrations that encrypt stored secrets need (``core.accounts.sealed.Sealer``)."""

    def seal(self, clear: str) -> str: ...

    def open(self, stored: str) -> str: ...


Step = Callable[[Config, str], None]
"""``alembic.command.upgrade`` or ``downgrade``."""


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


async def upgrade(db: Database, revision: str = "head", *, sealer: Sealer | None = None) -> None:
    """Bring the schema to ``revision`` on an already open engine.

    ``sealer`` (``core.accounts.sealed.for_settings(settings)``) is the server key for
    migrations that encrypt stored secrets (0005); without it they refuse to run over
    rows that need it.
    """
    await _migrate(db, command.upgrade, revision, sealer)


async def downgrade(db: Database, revision: str, *, sealer: Sealer | None = None) -> None:
    """Take the schema back to ``revision`` (developers and tests; upgrades never need it)."""
    await _migrate(db, command.downgrade, revision, sealer)


async def _migrate(db: Database, step: Step, revision: str, sealer: Sealer | None) -> None:
    if db.is_sqlite:
        await _migrate_sqlite(db, step, revision, sealer)
        return
    async with db.engine.begin() as conn:
        if db.is_postgres:
            # Nodes starting together migrate one after the other, not into each other.
            await conn.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        await conn.run_sync(_step_sync, step, revision, sealer)


async def _migrate_sqlite(db: Database, step: Step, revision: str, sealer: Sealer | None) -> None:
    """SQLite's way to change a table (https://sqlite.org/lang_altertable.html, section 7).

    A changed column means a copy of its table (Alembic's batch mode), and dropping the
    old table with foreign keys on would run their ON DELETE actions: every message
    would lose its phone, every delivery its attempt log. Foreign keys can only be
    switched off outside a transaction, so: off, migrate in one transaction, check that
    every reference still holds (only when a migration ran: the check reads every
    reference), commit, on again.
    """
    async with db.engine.connect() as conn:
        await conn.run_sync(_sqlite_foreign_keys, False)
        try:
            async with conn.begin():
                before = await current_revision(conn)
                await conn.run_sync(_step_sync, step, revision, sealer)
                if await current_revision(conn) != before:
                    await conn.run_sync(_check_foreign_keys)
        finally:
            await conn.run_sync(_sqlite_foreign_keys, True)


def _sqlite_foreign_keys(sync_conn, on: bool) -> None:  # noqa: ANN001
    cursor = sync_conn.connection.cursor()  # the driver's own: no BEGIN is sent first
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        cursor.close()


def _check_foreign_keys(sync_conn) -> None:  # noqa: ANN001
    broken = sync_conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = sorted({row[0] for row in broken})
        raise RuntimeError(f"migration left {len(broken)} broken references in {', '.join(tables)}; rolled back")


def _step_sync(sync_conn, step: Step, revision: str, sealer: Sealer | None) -> None:  # noqa: ANN001
    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    cfg.attributes["sealer"] = sealer
    step(cfg, revision)


async def current_revision(conn: AsyncConnection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def _rev(sync_conn) -> str | None:  # noqa: ANN001
        return MigrationContext.configure(sync_conn).get_current_revision()

    return await conn.run_sync(_rev)


async def autogenerate(db: Database, message: str) -> None:
    """Write a new migration file with what ``tables.py`` has and the database lacks."""
    async with db.engine.begin() as conn:
        await conn.run_sync(_revision_sync, message)


def _revision_sync(sync_conn, message: str) -> None:  # noqa: ANN001
    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.revision(cfg, message=message, autogenerate=True)
