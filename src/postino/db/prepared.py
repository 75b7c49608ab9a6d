"""Statements compiled once and run on the driver's cursor: the accept hot path.

Building a SQLAlchemy statement with ``.values(...)`` per call, and executing it, costs
tens of microseconds of Python per statement; a message accept runs five or six. Here
the statement is written once with named bind parameters, compiled once per dialect,
and on SQLite run straight on the ``sqlite3`` cursor with SQLAlchemy's own bind
processors (dates, money, JSON) applied, so the stored values are the same as
everywhere else. On PostgreSQL it goes through ``Connection.execute`` (the time there
is the network round trip, not Python).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Column, Connection, Table, bindparam, insert
from sqlalchemy.sql import ClauseElement

PREFIX = "p_"
VARIABLES = 999
"""Bound values one SQLite statement may take at the least (older builds' limit; 3.32+ allow 32,766)."""
MOST_ROWS = 64
"""Rows in one multi-row INSERT at the most."""


class Prepared:
    """One statement; ``run(conn, values)`` with ``values`` keyed by bind name minus ``p_``.

    ``multi_row`` (an INSERT of one VALUES row, no RETURNING): ``run_many`` on SQLite
    writes many rows per statement instead of one execution per row: fewer trips between
    Python and SQLite, each of which also gives up and takes back the interpreter's lock
    (a sixth fewer instructions for a group's rows; docs/benchmarks.md, "Where the served
    CPU goes").
    """

    def __init__(self, stmt: ClauseElement, *, multi_row: bool = False) -> None:
        self.stmt = stmt
        self.multi_row = multi_row
        self._by_size: dict[int, str] = {}
        self._most = 1
        self._sqlite: tuple[str, list[tuple[str, Callable[[Any], Any] | None]]] | None = None
        self._fixed: dict[str, Any] = {}
        self._pick: Callable[[dict[str, Any]], Any] | None = None
        self._processed: list[tuple[int, int, Callable[[Any], Any]]] = []

    def _compiled(self, conn: Connection) -> tuple[str, list[tuple[str, Callable[[Any], Any] | None]]]:
        if self._sqlite is None:
            compiled = self.stmt.compile(dialect=conn.dialect)
            processors = compiled._bind_processors
            names = compiled.positiontup or []
            # literal values (scalar column defaults) by bind name
            self._fixed = {n: compiled.binds[n].value for n in names if not n.startswith(PREFIX)}
            params = [(_key(n), processors.get(n)) for n in names]
            self._pick = itemgetter(*(name for name, _ in params)) if params else None
            # Columns of one type (class and arguments) share a remembered value: a row's
            # created_at and updated_at are one datetime, processed once.
            slots: dict[tuple[type, str], int] = {}
            self._processed = [
                (i, slots.setdefault(_type_key(compiled.binds[n].type), i), proc)
                for i, (n, (_, proc)) in enumerate(zip(names, params, strict=True))
                if proc is not None
            ]
            self._sqlite = (str(compiled), params)
            self._most = _chunk(max(1, VARIABLES // max(1, len(params))), MOST_ROWS) if self.multi_row else 1
        return self._sqlite

    def _rows_sql(self, sql: str, size: int) -> str:
        """The INSERT with ``size`` VALUES rows (kept per size: SQLite's statement cache reuses each)."""
        text = self._by_size.get(size)
        if text is None:
            head, verb, row = sql.rpartition(" VALUES ")
            assert verb and row.startswith("(") and row.endswith(")"), sql
            text = self._by_size[size] = f"{head}{verb}{', '.join([row] * size)}"
        return text

    def run(self, conn: Connection, values: dict[str, Any]) -> Sequence[Any]:
        """Execute with ``values``; the rows it returns (RETURNING), as plain tuples."""
        if conn.dialect.name != "sqlite":
            result = conn.execute(self.stmt, {PREFIX + k: v for k, v in values.items()})
            return [tuple(r) for r in result.all()] if result.returns_rows else []
        sql, params = self._compiled(conn)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr] - sqlite3 or its async adapter
        try:
            cursor.execute(sql, self._many_args(params, (values,))[0])
            return cursor.fetchall()
        finally:
            cursor.close()

    def run_many(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Execute for every row of ``rows``, in order; for statements without RETURNING.

        A ``multi_row`` INSERT on SQLite goes in statements of up to ``_most`` rows, in sizes
        that are powers of two (few distinct statements); anything else is ``executemany``.
        """
        if not rows:
            return
        if conn.dialect.name != "sqlite":
            conn.execute(self.stmt, [{PREFIX + k: v for k, v in values.items()} for values in rows])
            return
        sql, params = self._compiled(conn)
        args = self._many_args(params, rows)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            if not self.multi_row:
                cursor.executemany(sql, args)
                return
            start = 0
            while start < len(args):
                size = _chunk(len(args) - start, self._most)
                cursor.execute(self._rows_sql(sql, size), [value for row in args[start : start + size] for value in row])
                start += size
        finally:
            cursor.close()

    def _many_args(
        self, params: list[tuple[str, Callable[[Any], Any] | None]], rows: Sequence[dict[str, Any]]
    ) -> list[tuple]:
        """Each row's values in bind order, processed for the driver (dates, money, JSON); a value
        that is the very object last processed for a column of its type is not processed again.

        Rows written together share their timestamps and empty JSON fields, and turning a
        datetime or a JSON value into SQLite's text is most of the Python per row. The values
        are picked in one C call (``itemgetter``); only the columns with a processor are
        looked at one by one.
        """
        pick = self._pick
        if pick is None:
            return [() for _ in rows]
        fixed = self._fixed
        processed = self._processed
        last_in: list[Any] = [object()] * len(params)
        last_out: list[Any] = [None] * len(params)
        single = len(params) == 1
        out = []
        for values in rows:
            if fixed:
                values = {**fixed, **values}
            picked = pick(values)
            args = [picked] if single else list(picked)
            for i, slot, proc in processed:
                value = args[i]
                if value is last_in[slot]:
                    args[i] = last_out[slot]
                else:
                    last_in[slot] = value
                    args[i] = last_out[slot] = proc(value)
            out.append(tuple(args))
        return out


def raw(conn: Connection, sql: str) -> Sequence[Any]:
    """A bare statement (SAVEPOINT and friends) on the driver's cursor; its rows, if any."""
    if conn.dialect.name != "sqlite":
        result = conn.exec_driver_sql(sql)
        return [tuple(r) for r in result.all()] if result.returns_rows else []
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def _chunk(left: int, most: int) -> int:
    """The largest power of two that is at most ``left`` and ``most``."""
    return 1 << (min(left, most).bit_length() - 1)


def _type_key(bind_type: Any) -> tuple[type, str]:
    return type(bind_type), repr(bind_type)


def _key(name: str) -> str:
    return name.removeprefix(PREFIX)


def param(column: Column) -> Any:
    """A bind parameter for ``column`` (typed like it), named ``p_<column>``."""
    return bindparam(PREFIX + column.name, type_=column.type)


def insert_row(table: Table, columns: Sequence[str], *returning: Column) -> Prepared:
    """INSERT of one row of ``columns`` (values keyed by column name), optionally RETURNING."""
    values: dict[Any, Any] = {table.c[name]: param(table.c[name]) for name in columns}
    for column in table.c:  # scalar defaults become fixed values: nothing is computed per row
        if column.name not in columns and column.default is not None and column.default.is_scalar:
            values[column] = column.default.arg
    stmt = insert(table).values(values)
    if returning:
        stmt = stmt.returning(*returning)
    return Prepared(stmt, multi_row=not returning)
