"""Prepared statements store exactly what SQLAlchemy's own INSERT stores, value for value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import Connection, insert

from postino.core.service import Core
from postino.db.prepared import insert_row
from postino.db.tables import messages
from tests.conftest import make_account

COLUMNS = ("account_id", "recipient", "body", "state", "urgent", "priority", "due_at", "valid_until", "price",
           "fields", "extra", "created_at", "updated_at")  # fmt: skip
PREPARED = insert_row(messages, COLUMNS)
RAW = f"SELECT {', '.join(COLUMNS)}, direction, attempts, segments FROM messages WHERE recipient = '{{}}' ORDER BY id"


def _but_recipient(row: tuple) -> tuple:
    where = COLUMNS.index("recipient")
    return tuple(row[:where]) + tuple(row[where + 1 :])


def _rows(account_id: int, recipient: str) -> list[dict]:
    """Rows that repeat objects (one ``at`` for created and updated, shared None) and vary them."""
    at = datetime(2026, 12, 3, 8, 50, 20, 123456, tzinfo=UTC)
    rome = datetime(2026, 12, 3, 10, 0, 0, tzinfo=timezone(timedelta(hours=1)))
    naive = datetime(2026, 12, 3, 7, 0, 0)
    base = {"account_id": account_id, "recipient": recipient, "body": "Ciao", "state": "queued", "urgent": False,
            "priority": 1.0, "due_at": None, "valid_until": None, "price": Decimal("0.0450"), "fields": None,
            "extra": None, "created_at": at, "updated_at": at}  # fmt: skip
    return [
        base,
        {**base, "urgent": True, "due_at": rome, "valid_until": naive, "fields": {"name": "Anna"}},
        {**base, "price": Decimal("0.09"), "extra": {"template": {"name": "otp"}}, "updated_at": rome},
        {**base, "created_at": naive, "updated_at": naive, "due_at": at},
        base,
    ]


async def test_prepared_rows_are_stored_as_sqlalchemy_stores_them(core: Core) -> None:
    account = await make_account(core)

    def work(conn: Connection) -> tuple[list, list]:
        PREPARED.run_many(conn, _rows(account.id, "+393491000001"))
        conn.execute(insert(messages), _rows(account.id, "+393491000002"))
        prepared = conn.exec_driver_sql(RAW.format("+393491000001")).all()
        general = conn.exec_driver_sql(RAW.format("+393491000002")).all()
        return [_but_recipient(r) for r in prepared], [_but_recipient(r) for r in general]

    prepared, general = await core.db.writer.run(work)
    assert len(prepared) == 5
    assert prepared == general
    column = {name: i - (i > COLUMNS.index("recipient")) for i, name in enumerate(COLUMNS)}
    if core.db.is_sqlite:  # the text every date comparison in SQL relies on
        assert prepared[0][column["created_at"]] == "2026-12-03 08:50:20.123456"
        assert prepared[1][column["due_at"]] == "2026-12-03 09:00:00.000000"
        assert prepared[1][column["valid_until"]] == "2026-12-03 07:00:00.000000"
        assert prepared[2][column["updated_at"]] == "2026-12-03 09:00:00.000000"
    assert [r[column["price"]] for r in prepared] == [450, 450, 900, 450, 450]
    assert prepared[0][len(COLUMNS) - 1 :] == ("out", 0, 1)  # the table's scalar defaults, filled in


async def test_a_row_missing_a_column_is_refused_before_anything_is_written(core: Core) -> None:
    account = await make_account(core)
    rows = _rows(account.id, "+393491000003")
    del rows[2]["body"]

    def work(conn: Connection) -> int:
        try:
            PREPARED.run_many(conn, rows)
        except Exception as exc:  # noqa: BLE001 - KeyError on SQLite, SQLAlchemy's own error elsewhere
            assert "body" in str(exc)
        else:
            raise AssertionError("a row without its body was taken")
        return len(conn.exec_driver_sql(RAW.format("+393491000003")).all())

    assert await core.db.writer.run(work) == 0


async def test_many_rows_go_in_order_with_consecutive_ids(core: Core) -> None:
    """70 rows: on SQLite several multi-row statements (32, 32, 4, 2), on PostgreSQL one executemany."""
    account = await make_account(core)
    base = _rows(account.id, "+393491000004")[0]
    seq_insert = insert_row(messages, (*COLUMNS, "seq"))

    def work(conn: Connection) -> list[tuple]:
        seq_insert.run_many(conn, [{**base, "seq": i, "body": f"n{i}"} for i in range(70)])
        return [tuple(r) for r in conn.exec_driver_sql(
            "SELECT id, seq, body FROM messages WHERE recipient = '+393491000004' ORDER BY id").all()]

    rows = await core.db.writer.run(work)
    assert [(seq, body) for _, seq, body in rows] == [(i, f"n{i}") for i in range(70)]
    assert [i for i, _, _ in rows] == list(range(rows[0][0], rows[0][0] + 70))
