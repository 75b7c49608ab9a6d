"""Migration 0011: three message indexes become partial, keep every row, and still serve their queries.

A single send (no batch, not scheduled, no customer id) then writes none of them; the
queries that read them compare the column, so both engines may still use them.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import TextClause, bindparam, insert, select, text

from postino.core.clock import utcnow
from postino.core.service import Core
from postino.db.migrate import current_revision, downgrade, upgrade
from postino.db.tables import batches, messages

from .conftest import AccountInfo

PARTIAL = {
    "ix_messages_batch": "batch_id IS NOT NULL",
    "ix_messages_state_due": "due_at IS NOT NULL",
    "ix_messages_account_customer_created": "customer_id IS NOT NULL",
}

# Each index with a query of the code's own shape that it must still serve.
QUERIES = {
    "ix_messages_batch": "SELECT id FROM messages WHERE batch_id = :v AND seq >= 0 ORDER BY seq",
    "ix_messages_state_due": "SELECT id FROM messages WHERE state = 'scheduled' AND due_at <= :v",
    "ix_messages_account_customer_created": (
        "SELECT id FROM messages WHERE account_id = :a AND customer_id = :v ORDER BY created_at DESC LIMIT 10"
    ),
}


def _query(name: str, prefix: str = "") -> TextClause:
    query = text(prefix + QUERIES[name])
    return query.bindparams(bindparam("v", type_=messages.c.due_at.type)) if "due_at" in QUERIES[name] else query


async def _index_sql(core: Core) -> dict[str, str]:
    async with core.reader() as unit:
        if unit.conn.dialect.name == "sqlite":
            rows = await unit.conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index'"))
        else:
            rows = await unit.conn.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'messages'"))
        return {name: sql for name, sql in rows if name in PARTIAL}


async def _plan(core: Core, name: str, **params: object) -> str:
    """The plan of the query for index ``name``; on PostgreSQL with table scans ruled out,
    so a small table shows whether the index can serve the query at all."""
    async with core.reader() as unit:
        if unit.conn.dialect.name == "sqlite":
            rows = await unit.conn.execute(_query(name, "EXPLAIN QUERY PLAN "), params)
            return " ".join(str(r[3]) for r in rows)
        await unit.conn.execute(text("SET LOCAL enable_seqscan = off"))
        rows = await unit.conn.execute(_query(name, "EXPLAIN "), params)
        return " ".join(str(r[0]) for r in rows)


async def test_0011_makes_three_indexes_partial_and_keeps_their_rows_and_queries(
    core: Core, alice: AccountInfo
) -> None:
    await downgrade(core.db, "0010")
    assert all("WHERE" not in sql.upper() for sql in (await _index_sql(core)).values())
    now = utcnow()
    due = now - timedelta(minutes=1)
    common = {"account_id": alice.id, "recipient": "+393471234567", "created_at": now, "updated_at": now}
    async with core.unit() as unit:
        batch_id = (await unit.conn.execute(
            insert(batches).values(account_id=alice.id, kind="bulk", data={}, created_at=now, updated_at=now)
            .returning(batches.c.id))).scalar_one()
        in_batch = (await unit.conn.execute(insert(messages).values(
            **common, state="scheduled", batch_id=batch_id, seq=0, due_at=due, customer_id="order-7")
            .returning(messages.c.id))).scalar_one()
        single = (await unit.conn.execute(insert(messages).values(**common, state="queued")
                                          .returning(messages.c.id))).scalar_one()

    await upgrade(core.db, "0011")  # not head: a later migration must not change what this checks

    async with core.reader() as unit:
        assert await current_revision(unit.conn) == "0011"
    made = await _index_sql(core)
    assert set(made) == set(PARTIAL)
    for name, where in PARTIAL.items():
        assert where.split()[0] in made[name].split("WHERE", 1)[1], made[name]
    async with core.reader() as unit:
        stored = (await unit.conn.execute(select(messages.c.id).order_by(messages.c.id))).scalars().all()
        by_batch = (await unit.conn.execute(_query("ix_messages_batch"), {"v": batch_id})).scalars().all()
        by_due = (await unit.conn.execute(_query("ix_messages_state_due"), {"v": now})).scalars().all()
        by_customer = (await unit.conn.execute(_query("ix_messages_account_customer_created"),
                                               {"a": alice.id, "v": "order-7"})).scalars().all()
    assert stored == [in_batch, single]
    assert by_batch == by_due == by_customer == [in_batch]
    assert "ix_messages_batch" in await _plan(core, "ix_messages_batch", v=batch_id)
    assert "ix_messages_state_due" in await _plan(core, "ix_messages_state_due", v=now)
    customer = "ix_messages_account_customer_created"
    assert customer in await _plan(core, customer, a=alice.id, v="order-7")

    await downgrade(core.db, "0010")
    assert all("WHERE" not in sql.upper() for sql in (await _index_sql(core)).values())
    await upgrade(core.db)
