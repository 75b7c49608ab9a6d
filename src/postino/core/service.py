"""The unit of work: one transaction plus what must happen only once it has committed.

Dialects and the device API open a unit, call core functions with it, and leave; wake-ups
(a phone's event stream) run after the commit so a phone never races its own message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.engine import Database
from ..settings import Settings
from .cache import Caches
from .notify import Notifier


@dataclass
class Unit:
    conn: AsyncConnection
    core: "Core"
    _after: list[Callable[[], None]] = field(default_factory=list)

    def after_commit(self, fn: Callable[[], None]) -> None:
        self._after.append(fn)

    @property
    def settings(self) -> Settings:
        return self.core.settings

    @property
    def is_postgres(self) -> bool:
        return self.core.db.is_postgres


class Core:
    """What every entry point shares: settings, the database, the in-process notifier."""

    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db or Database(settings.resolved_database_url())
        self.notifier = Notifier()
        self.cache = Caches()

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """A write transaction; after-commit hooks run only if it committed."""
        async with self.db.begin() as conn:
            unit = Unit(conn=conn, core=self)
            yield unit
        for fn in unit._after:
            fn()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Unit]:
        """A read-only unit (no BEGIN IMMEDIATE lock on SQLite)."""
        async with self.db.read() as conn:
            yield Unit(conn=conn, core=self)
