"""SQLAlchemy's aiosqlite dialect, with one trip to the connection's thread per statement.

aiosqlite runs each SQLite connection in a thread of its own and hands it calls through
a queue; every call is a future, a wake-up of that thread, and a wake-up of the event
loop when it returns. SQLAlchemy's adapter makes four such calls for one statement: open
a cursor, execute, fetch the rows, close the cursor. A read of one row therefore cost
about 370 µs of the event loop's time, and a MessaggiSMS send, a dozen statements, 4 to
7 ms of it (docs/benchmarks.md, "Statements in one trip").

Here a statement is one call: the thread opens a cursor, executes, takes the description,
the rows, the row count and the last row id, and closes the cursor; the loop gets them
back together. Nothing else changes: the same aiosqlite connection and thread, the same
dialect (SQL, types, pooling), the same errors. Server-side cursors (``stream``), which
fetch as they go, keep SQLAlchemy's own cursor.

The call goes through aiosqlite's ``Connection._execute``, the one method its public
methods all use; SQLAlchemy's adapter reaches into the same object (``_tx``, ``_conn``)
to set the isolation level. ``tests/test_sqlite_driver.py`` holds the behaviour.
"""

from __future__ import annotations

import collections
from typing import Any

from sqlalchemy import make_url
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util.concurrency import await_

DRIVER = "postino_aiosqlite"
"""The URL's driver name for this dialect: ``sqlite+postino_aiosqlite:///path``."""


def _run(connection: Any, operation: str, parameters: Any, many: bool) -> tuple:
    """In the connection's thread: the whole statement, and all that the loop will ask of it."""
    cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else ()
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor that holds a statement's results; no driver cursor stays open."""

    __slots__ = ("_description", "_rowcount", "_lastrowid", "_arraysize")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._trip(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._trip(operation, seq_of_parameters, many=True)

    def _trip(self, operation: Any, parameters: Any, *, many: bool) -> None:
        try:
            description, rows, rowcount, lastrowid = await_(
                self._connection._execute(_run, self._connection, operation, parameters, many)
            )
        except Exception as error:  # noqa: BLE001 - the adapter turns it into the DBAPI's error
            self._adapt_connection._handle_exception(error)
        self._description = description
        self._rows = collections.deque(rows)
        self._rowcount = rowcount
        self._lastrowid = lastrowid

    async def _async_soft_close(self) -> None:
        """Nothing is open in the thread: the rows are here already."""

    def close(self) -> None:
        self._rows.clear()

    def nextset(self) -> None:
        return None

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


class SQLiteDialect_postino(SQLiteDialect_aiosqlite):  # noqa: N801 - SQLAlchemy's naming of dialects
    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> OneTripDBAPI:
        return OneTripDBAPI(__import__("aiosqlite"), __import__("sqlite3"))


dialect = SQLiteDialect_postino


def one_trip_url(url: str) -> str:
    """``url`` on this dialect when it names aiosqlite (the URL ``Settings`` makes), else as given."""
    parsed = make_url(url)
    if parsed.drivername != "sqlite+aiosqlite":
        return url
    return parsed.set(drivername=f"sqlite+{DRIVER}").render_as_string(hide_password=False)


registry.register(f"sqlite.{DRIVER}", __name__, "SQLiteDialect_postino")
