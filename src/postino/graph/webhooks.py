"""Webhooks as Meta sends them: the body encoded the way Meta encodes it, signed with the
app secret, retried with back-off, and the subscription's verification GET.

Meta escapes ``/`` and every non-ASCII character in its JSON, so a receiver that checks
the signature over re-serialised JSON instead of the raw bytes fails here as it would
against Meta.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from typing import Any

import httpx

from ..connectors.whatsapp_cloud.webhook import sign  # the header Meta sends; the tests check it on their own
from ..smsc.simulator import EventLog

FIRST_BACKOFF = 0.2  # seconds before the second attempt; doubled each time
MAX_BACKOFF = 2.0


def encode(payload: dict[str, Any]) -> bytes:
    """Compact JSON, ASCII only, ``/`` escaped: Meta's bytes."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode("ascii")


class Webhooks:
    """Posts to the subscribed URL; a post waits while no URL is set."""

    def __init__(
        self, client: httpx.AsyncClient, log: EventLog, app_secret: Callable[[], str], *, attempts: int,
        url: str | None = None,
    ) -> None:
        self.client = client
        self.log = log
        self.app_secret = app_secret  # read per attempt: a command may change it
        self.attempts = attempts
        self.url = url
        self.url_set = asyncio.Event()
        if url:
            self.url_set.set()

    def set_url(self, url: str | None) -> None:
        self.url = url or None
        if self.url:
            self.url_set.set()
        else:
            self.url_set.clear()

    async def post(self, payload: dict[str, Any], **about: Any) -> int | None:
        """Deliver ``payload``; its 2xx status, or None after the last attempt failed.
        ``about`` (kind, status, wamid, …) goes into each attempt's log line."""
        body = encode(payload)
        backoff = FIRST_BACKOFF
        answer: int | None = None
        for attempt in range(1, self.attempts + 1):
            await self.url_set.wait()
            url = self.url
            assert url is not None
            error = None
            try:
                response = await self.client.post(url, content=body, headers={
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": sign(self.app_secret(), body),
                    "User-Agent": "facebookexternalua",
                })
                answer = response.status_code
            except httpx.HTTPError as exc:
                answer, error = None, f"{type(exc).__name__}: {exc}"
            self.log("webhook", **about, url=url, answer_status=answer, attempt=attempt,
                     **({"error": error} if error else {}))
            if answer is not None and 200 <= answer < 300:
                return answer
            if attempt < self.attempts:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
        self.log("webhook_dropped", **about, attempts=self.attempts, answer_status=answer)
        return None

    async def verify(self, verify_token: str, rnd: random.Random) -> bool:
        """The subscription check: GET with a random challenge, which must come back alone."""
        url = self.url
        if not url:
            self.log("verify", ok=False, answer_status=None, body=None, error="no webhook url")
            return False
        challenge = str(rnd.randrange(10**9, 10**10))
        params = {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}
        try:
            response = await self.client.get(url, params=params)
        except httpx.HTTPError as exc:
            self.log("verify", ok=False, url=url, answer_status=None, body=None, challenge=challenge,
                     error=f"{type(exc).__name__}: {exc}")
            return False
        ok = response.status_code == 200 and response.text == challenge
        self.log("verify", ok=ok, url=url, answer_status=response.status_code, body=response.text[:500],
                 challenge=challenge)
        return ok
