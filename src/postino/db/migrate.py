"""Apply the Alembic migrations shipped inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from .engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x706F7374  # "post": the advisory lock key that serialises migrations


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


async def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision`` on an already open engine."""
    async with db.engine.begin() as conn:
        if db.is_postgres:
            # Nodes starting together migrate one after the other, not into each other.
            await conn.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        await conn.run_sync(_upgrade_sync, revision)


def _upgrade_sync(sync_conn, revision: str) -> None:  # noqa: ANN001
    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, revision)


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
