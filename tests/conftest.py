"""Fixtures: a fresh database per test (SQLite file or PostgreSQL database), core, app, accounts.

Which engine: ``POSTINO_TEST_DATABASE_URL`` (a PostgreSQL server URL) selects PostgreSQL;
otherwise every test gets its own SQLite file. ``scripts/test`` runs the suite once per
engine.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from postino.app import create_app
from postino.core.accounts import accounts, billing, credentials
from postino.core.service import Core
from postino.db.engine import Database
from postino.db.migrate import upgrade
from postino.settings import Settings
from postino.wiring import install_listeners

PG_SERVER = os.environ.get("POSTINO_TEST_DATABASE_URL", "")
ENGINE = "postgresql" if PG_SERVER else "sqlite"


def pytest_report_header(config) -> str:  # noqa: ANN001
    return f"postino database engine: {ENGINE}" + (f" ({PG_SERVER})" if PG_SERVER else "")


DATABASE_FIXTURES = frozenset({"database_url", "db_factory"})


def pytest_collection_modifyitems(config, items) -> None:  # noqa: ANN001
    """On the PostgreSQL run, leave out the tests that use no database (codecs, parsers,
    CLI runs on their own SQLite folder): the SQLite run has run them, and the engine
    changes nothing for them. They show as "deselected" in the summary."""
    if not PG_SERVER:
        return
    engine_free = [item for item in items if not DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))]
    if engine_free:
        config.hook.pytest_deselected(items=engine_free)
        dropped = set(engine_free)
        items[:] = [item for item in items if item not in dropped]


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    if PG_SERVER:
        terminalreporter.write_line(
            "postino: tests that use no database were deselected here: the SQLite run runs them"
        )


def _pg(url: str, name: str) -> str:
    base = url.rsplit("/", 1)[0]
    return f"{base}/{name}"


class DatabaseFactory:
    """Makes a fresh, migrated database quickly by copying a template."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.template: str | None = None

    async def _prepare(self) -> None:
        if self.template is not None:
            return
        if PG_SERVER:
            name = f"postino_tpl_{uuid.uuid4().hex[:10]}"
            await self._pg_exec(f'CREATE DATABASE "{name}"')
            db = Database(_pg(PG_SERVER, name).replace("postgresql://", "postgresql+asyncpg://"))
            await upgrade(db)
            await db.dispose()
            self.template = name
        else:
            path = self.workdir / "template.db"
            db = Database(f"sqlite+aiosqlite:///{path}")
            await upgrade(db)
            await db.dispose()  # closing the last connection folds the WAL into the file
            self.template = str(path)

    async def _pg_exec(self, sql: str) -> None:
        engine = create_async_engine(
            _pg(PG_SERVER, "postgres").replace("postgresql://", "postgresql+asyncpg://"), isolation_level="AUTOCOMMIT"
        )
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    async def new(self, where: Path) -> str:
        """A URL (as an operator would write it) of a fresh migrated database."""
        await self._prepare()
        if PG_SERVER:
            name = f"postino_t_{uuid.uuid4().hex[:12]}"
            await self._pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
            return _pg(PG_SERVER, name)
        where.mkdir(parents=True, exist_ok=True)
        target = where / "postino.db"
        shutil.copy(self.template, target)
        return f"sqlite:///{target}"


@pytest.fixture(scope="session")
def db_factory(tmp_path_factory: pytest.TempPathFactory) -> DatabaseFactory:
    return DatabaseFactory(tmp_path_factory.mktemp("dbtemplate"))


@pytest_asyncio.fixture
async def database_url(db_factory: DatabaseFactory, tmp_path: Path) -> str:
    return await db_factory.new(tmp_path / "data")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret",
        allow_private_urls=True,
        scheduler_interval=0.05,
    )


@pytest_asyncio.fixture
async def core(settings: Settings) -> AsyncIterator[Core]:
    settings.ensure_dirs()
    c = install_listeners(Core(settings))
    await upgrade(c.db)
    yield c
    await c.db.dispose()


@pytest_asyncio.fixture
async def app(settings: Settings, core: Core) -> AsyncIterator:
    """The ASGI app with its lifespan running (scheduler included)."""
    application = create_app(settings, core)
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # noqa: ANN001
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@dataclass
class AccountInfo:
    id: int
    email: str
    password: str
    sg24_token: str
    bearer_token: str
    api_key: str
    device_registration_token: str


async def make_account(
    core: Core,
    email: str = "alice@example.com",
    password: str = "correct horse",
    *,
    credit: str | None = "100",
    wa_credit: str | None = "100",
    country: str = "IT",
    timezone: str = "Europe/Rome",
    enforce: bool = False,
) -> AccountInfo:
    async with core.unit() as unit:
        account = await accounts.create(
            unit, email=email, password=password, country=country, timezone=timezone, credit_enforced=enforce
        )
        if credit:
            await billing.top_up(unit, account.id, "sms", Decimal(credit))
        if wa_credit:
            await billing.top_up(unit, account.id, "wa", Decimal(wa_credit))
        issued = {
            kind: (await credentials.issue(unit, account.id, kind)).secret
            for kind in ("sg24", "bearer", "api_key", "device_registration")
        }
    return AccountInfo(
        account.id,
        account.email,
        password,
        issued["sg24"],
        issued["bearer"],
        issued["api_key"],
        issued["device_registration"],
    )


@pytest_asyncio.fixture
async def alice(core: Core) -> AccountInfo:
    return await make_account(core)


@pytest_asyncio.fixture
async def bob(core: Core) -> AccountInfo:
    return await make_account(core, "bob@example.com", "bob password 1", country="DE", timezone="Europe/Berlin")
