"""Migration 0005 seals the secrets stored in clear before it, and loses nothing around them.

On SQLite widening a column copies its table; with foreign keys on, dropping the old
table would null every message's phone and delete every delivery's attempt log. These
tests run on a database of their own, at revision 0004, on either engine.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy import insert, select

from postino.core.accounts import accounts, sealed
from postino.core.devices import devices
from postino.core.events import webhooks
from postino.core.messages import messages
from postino.core.service import Core
from postino.db.migrate import current_revision, downgrade, upgrade
from postino.db.tables import devices as devices_table
from postino.db.tables import messages as messages_table
from postino.db.tables import outbox as outbox_table
from postino.db.tables import outbox_attempts
from postino.db.tables import webhooks as webhooks_table
from postino.db.types import UTCDateTime
from postino.settings import Settings
from postino.wiring import install_listeners

from .conftest import PG_SERVER, DatabaseFactory, _pg

SECRET = "an-old-secret-kept-in-clear"


@pytest_asyncio.fixture
async def empty_url(db_factory: DatabaseFactory, tmp_path: Path) -> AsyncIterator[str]:
    """A database with no tables at all (not the suite's migrated template)."""
    if not PG_SERVER:
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    name = f"postino_m_{uuid.uuid4().hex[:12]}"
    await db_factory._pg_exec(f'CREATE DATABASE "{name}"')
    yield _pg(PG_SERVER, name)
    await db_factory._pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest_asyncio.fixture
async def old_core(empty_url: str, tmp_path: Path) -> AsyncIterator[Core]:
    settings = Settings(
        data_dir=tmp_path / "data", database_url=empty_url, secret_key="migration-test-key-0123456789",
        allow_private_urls=True,
    )
    settings.ensure_dirs()
    c = install_listeners(Core(settings))
    yield c
    await c.db.dispose()


async def _revision(core: Core) -> str | None:
    async with core.reader() as unit:
        return await current_revision(unit.conn)


async def _column(core: Core, column) -> list:  # noqa: ANN001
    async with core.reader() as unit:
        return list((await unit.conn.execute(select(column).order_by(column.table.c.id))).scalars())


async def test_clear_secrets_of_0004_are_sealed_and_every_reference_kept(old_core: Core) -> None:
    core = old_core
    key = sealed.for_settings(core.settings)
    # Data as the current code makes it, then taken back to 0004: in clear there.
    await upgrade(core.db, sealer=key)
    async with core.unit() as unit:
        account = await accounts.create(unit, email="old@example.com", password="old password 1")
        hook = await webhooks.create(unit, account.id, url="https://example.com/h", events=["campaign.finished"])
        await webhooks.emit(unit, account.id, "campaign.finished", {"n": 1})
        phone, _token = await devices.register(unit, account.id, name="old phone")
        accepted = await messages.submit(
            unit, account, [messages.Draft(recipient="+393491234567", body="hi", device_id=phone.id, slot=0)], charge=False
        )
        (outbox_id,) = await _ids(unit)
        await unit.conn.execute(
            insert(outbox_attempts).values(outbox_id=outbox_id, attempt=1, at=datetime.now(timezone.utc), duration_ms=5)
        )
    await downgrade(core.db, "0004", sealer=key)
    assert await _revision(core) == "0004"
    assert await _column(core, webhooks_table.c.secret) == [hook.secret]
    assert await _column(core, outbox_table.c.secret) == [hook.secret]
    assert await _column(core, devices_table.c.webhook_key) == [phone.webhook_key]

    # A row written by the old code: its secret in clear.
    old_webhooks = sa.table(
        "webhooks", sa.column("account_id"), sa.column("url"), sa.column("events", sa.JSON), sa.column("secret"),
        sa.column("created_at", UTCDateTime),
    )
    async with core.unit() as unit:
        await unit.conn.execute(
            insert(old_webhooks).values(
                account_id=account.id, url="https://example.com/old", events=["message.sent"], secret=SECRET,
                created_at=datetime.now(timezone.utc),
            )
        )

    with pytest.raises(RuntimeError, match="server key"):
        await upgrade(core.db)  # rows to seal and no key: refused, nothing done
    assert await _revision(core) == "0004"
    assert await _column(core, webhooks_table.c.secret) == [hook.secret, SECRET]

    await upgrade(core.db, sealer=key)
    assert await _revision(core) is not None and await _revision(core) != "0004"
    stored_hooks = await _column(core, webhooks_table.c.secret)
    stored_copies = await _column(core, outbox_table.c.secret)
    stored_keys = await _column(core, devices_table.c.webhook_key)
    for value in stored_hooks + stored_copies + stored_keys:
        assert value.startswith(f"enc1:{key.key_id}:")
    assert [key.open(v) for v in stored_hooks] == [hook.secret, SECRET]
    assert [key.open(v) for v in stored_copies] == [hook.secret]
    assert [key.open(v) for v in stored_keys] == [phone.webhook_key]

    # What the tables copied on SQLite kept: the message still has its phone, the delivery its log.
    assert await _column(core, messages_table.c.device_id) == [phone.id]
    assert await _column(core, messages_table.c.id) == accepted.ids
    assert await _column(core, outbox_attempts.c.outbox_id) == [outbox_id]
    async with core.reader() as unit:
        (old,) = [h for h in await webhooks.list_for(unit, account.id) if h.url.endswith("/old")]
        assert old.secret == SECRET
        if core.db.is_sqlite:
            assert (await unit.conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1


async def _ids(unit) -> list[int]:  # noqa: ANN001
    return list((await unit.conn.execute(select(outbox_table.c.id))).scalars())


async def test_a_new_database_migrates_without_a_key(old_core: Core) -> None:
    await upgrade(old_core.db)  # nothing stored yet: nothing to seal
    assert await _revision(old_core) is not None
