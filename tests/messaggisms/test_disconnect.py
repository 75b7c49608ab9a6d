"""A client that leaves while its body is read: one log line, nothing written, no crash."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from postino.db.tables import messages


async def test_a_client_that_leaves_mid_body_is_logged_in_one_line(app, core, alice, phone, caplog) -> None:  # noqa: ANN001
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/messages/", "raw_path": b"/messages/", "root_path": "", "query_string": b"",
        "headers": [(b"host", b"test"), (b"content-type", b"application/json"), (b"content-length", b"200"),
                    (b"authorization", f"Bearer {alice.bearer_token}".encode())],
        "client": ("127.0.0.1", 40000), "server": ("test", 80),
    }  # fmt: skip
    arriving = [{"type": "http.request", "body": b'{"recipients": ["+3934', "more_body": True},
                {"type": "http.disconnect"}]

    async def receive() -> dict:
        return arriving.pop(0) if arriving else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        pass

    with caplog.at_level(logging.INFO):
        await app(scope, receive, send)

    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    (line,) = [r for r in caplog.records if "went away" in r.getMessage()]
    assert line.getMessage() == "POST /messages/: the client went away before its request was read"
    async with core.reader() as unit:
        assert (await unit.conn.execute(select(func.count()).select_from(messages))).scalar_one() == 0
