"""Chromium for the dashboard tests: Debian's ``/usr/bin/chromium``, headless, driven by Playwright.

No browser is downloaded: without ``/usr/bin/chromium`` the tests skip (``scripts/test``
installs it; in CI, ``CI=true``, a missing one is an error). With ``POSTINO_SCREENSHOTS=1``
the tests write the pictures of ``docs/dashboard.md`` into ``docs/dashboard/``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.support import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "dashboard"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 375, "height": 812}


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: CI runs the browser tests (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium): the dashboard's browser tests need it")


@pytest_asyncio.fixture
async def browser() -> AsyncIterator:
    _need_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """``postino serve`` on the test's database, stopped after the test."""
    served = ServerProcess(tmp_path / "server", database_url).start()
    try:
        yield served
    finally:
        served.stop()


class Shots:
    """Screenshots for the docs, only when asked for: normal runs leave ``docs/`` alone."""

    def __init__(self) -> None:
        self.enabled = os.environ.get("POSTINO_SCREENSHOTS") == "1"

    async def take(self, page, name: str) -> None:  # noqa: ANN001
        if self.enabled:
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def shots() -> Shots:
    return Shots()
