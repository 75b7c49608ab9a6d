from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest_asyncio

from .peers import Smsc


@pytest_asyncio.fixture
async def start_smsc(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Smsc]]]:
    """``smsc = await start_smsc("--throttle-every", "7")``: a simulator bound to the test."""
    started: list[Smsc] = []

    async def start(*args: str) -> Smsc:
        smsc = await Smsc(tmp_path / f"smsc{len(started)}", "--system-id", "postino", "--password", "secret1", *args).start()
        started.append(smsc)
        return smsc

    yield start
    for smsc in started:
        await smsc.stop()
