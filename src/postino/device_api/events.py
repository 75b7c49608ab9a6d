"""``GET /events``: the phone's Server-Sent Events stream.

A phone keeps this open; when work is queued for it, it hears ``MessageEnqueued`` and
pulls at once. Events are only hints (the queue is in the database), so a stream that
drops loses nothing. The first event after connecting is a ``MessageEnqueued`` so a
phone that reconnects after an outage pulls what waited for it. A ``:keepalive`` comment
every 15 seconds keeps proxies from closing an idle stream and marks the phone seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
from fastapi import Depends, Request
from fastapi.responses import StreamingResponse

from ..core.devices.devices import Device
from .auth import core_of, current_device, mark_seen
from .routes import router

KEEPALIVE_SECONDS = 15.0


def frame(event: str, data: dict) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _coalesced(first: tuple[str, dict], inbox: asyncio.Queue) -> list[tuple[str, dict]]:
    """``first`` and whatever else waits in the inbox, each ``MessageEnqueued`` said once.

    Many messages queued for a phone at once need one wake-up, not one each: the phone pulls
    everything waiting anyway, and every extra event would cost it another pull.
    """
    events = [first]
    while not inbox.empty():
        events.append(inbox.get_nowait())
    woken = False
    out = []
    for event, data in events:
        if event == "MessageEnqueued":
            if woken:
                continue
            woken = True
        out.append((event, data))
    return out


@router.get("/events", summary="Server-Sent Events: MessageEnqueued, MessageCancelled, SettingsUpdated")
async def events(request: Request, device: Device = Depends(current_device)) -> StreamingResponse:
    core = core_of(request)
    key = ("device", device.id)
    inbox = core.notifier.subscribe(key)

    async def stream() -> AsyncIterator[bytes]:
        seen = device
        try:
            yield frame("MessageEnqueued", {})
            while True:
                try:
                    first = await asyncio.wait_for(inbox.get(), timeout=KEEPALIVE_SECONDS)
                except asyncio.TimeoutError:
                    yield b":keepalive\n\n"
                    seen = await mark_seen(core, seen)
                    continue
                yield b"".join(frame(event, data) for event, data in _coalesced(first, inbox))
        finally:
            core.notifier.unsubscribe(key, inbox)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
