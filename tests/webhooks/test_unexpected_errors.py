"""An attempt that fails in a way no branch expects is still a failed attempt in the log.

It is written with its error (type and message, short, without secrets), the row waits
the normal backoff and is tried again, and gives up at its deadline: never a delivery
left pending with nothing to show for it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest_asyncio
from sqlalchemy import update

from postino.app import create_app
from postino.core.clock import utcnow
from postino.core.events import outbox as outbox_core
from postino.core.service import Core
from postino.db.tables import outbox
from postino.dispatch import outbox as sender

from ..support import run_cli, wait_for
from .helpers import attempts_of, outbox_rows

SECRET = "a-signing-secret-nobody-may-read"
URL = "http://hook-user:hook-password@127.0.0.1:9/broken"


class Exploding(httpx.AsyncBaseTransport):
    """A transport whose every request fails with an error nobody planned for."""

    def __init__(self) -> None:
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        raise RuntimeError(f"exploded while talking to {URL} signed with {SECRET}\nsecond line")


@pytest_asyncio.fixture
async def exploding(settings, monkeypatch) -> AsyncIterator[tuple[Core, Exploding]]:  # noqa: ANN001
    """A running app whose outbox sender's client fails unexpectedly on every request."""
    transport = Exploding()
    monkeypatch.setattr(sender, "make_client", lambda core: httpx.AsyncClient(transport=transport))
    core = Core(settings)
    application = create_app(settings, core)
    async with application.router.lifespan_context(application):
        yield core, transport


async def test_an_unexpected_error_is_a_failed_attempt_retried_then_given_up(
    exploding, alice, database_url, tmp_path
) -> None:  # noqa: ANN001
    core, transport = exploding
    async with core.unit() as unit:
        row_id = await outbox_core.enqueue(
            unit, account_id=alice.id, event="callback", url=URL, payload={"a": 1}, secret=SECRET
        )

    attempts = await wait_for(
        lambda: _at_least(core, row_id, 2), message="two failed attempts in the log"
    )  # the second came after the backoff: the row was rescheduled, not dropped
    for n, logged in enumerate(attempts[:2], start=1):
        assert logged.attempt == n and logged.status_code is None
        assert logged.error.startswith("unexpected RuntimeError: exploded while talking to http://")
        assert "[credentials]@127.0.0.1:9/broken" in logged.error and "[secret]" in logged.error
        assert "hook-password" not in logged.error and SECRET not in logged.error and "\n" not in logged.error
    assert transport.calls >= 2

    async with core.unit() as unit:  # its 24 hours are over
        soon = utcnow() + timedelta(seconds=1)
        await unit.conn.execute(update(outbox).where(outbox.c.id == row_id).values(deadline=soon))

    async def given_up():  # noqa: ANN202
        rows = await outbox_rows(core)
        return rows if rows[0].state == "failed" else None

    (row,) = await wait_for(given_up, message="given up at the deadline")
    shown = await asyncio.to_thread(
        run_cli, "webhooks", "log", "--email", alice.email, "--json",
        "--data-dir", str(tmp_path / "cli"), "--database-url", database_url,
    )  # fmt: skip
    (delivery,) = json.loads(shown.stdout)
    assert delivery["id"] == row_id and delivery["state"] == "failed" and delivery["attempts"] == row.attempts
    assert len(delivery["log"]) == row.attempts
    assert all(entry["error"].startswith("unexpected RuntimeError: exploded") for entry in delivery["log"])
    assert SECRET not in shown.stdout
    assert not any("hook-password" in entry["error"] for entry in delivery["log"])  # (the URL itself is the user's)


def test_the_error_text_is_short() -> None:
    claimed = sender.Claimed(
        id=1, attempt=1, event="callback", url="http://127.0.0.1:9/", host="127.0.0.1:9", payload={},
        secret=None, form_field=None, deadline=utcnow(),
    )  # fmt: skip
    text = sender.unexpected(ValueError("x" * 5000), claimed)
    assert text.startswith("unexpected ValueError: xxx") and len(text) <= sender.MAX_ERROR
    assert sender.unexpected(KeyError(), claimed) == "unexpected KeyError"


async def _at_least(core: Core, row_id: int, count: int):  # noqa: ANN202
    found = await attempts_of(core, row_id)
    return found if len(found) >= count else None
