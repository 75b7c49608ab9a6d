"""Per-key request rate limits, shared by every Postino process that shares a store.

Built on the ``limits`` package with a moving window: at most ``amount`` hits in any
``per_seconds`` window, which is the NusaSMS rule "one hit per 50 ms" measured over a
second (20 per second) without letting a client save up more than one window's worth.
The store is in-process memory by default (one API process, the embedded set-up) and
Redis when ``POSTINO_REDIS_URL`` is set, so several API processes on several machines
count the same hits.
"""

from __future__ import annotations

import hashlib
import logging
import time
import weakref
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from ...settings import Settings

log = logging.getLogger("postino.ratelimit")

DEFAULT_AMOUNT = 20
DEFAULT_PER_SECONDS = 1


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: float
    """Seconds until the window has room again (0 when allowed)."""


class RateLimiter:
    """``hit(scope, key)``: count one request, say whether it may go on."""

    def __init__(self, storage: Storage, *, amount: int = DEFAULT_AMOUNT, per_seconds: int = DEFAULT_PER_SECONDS) -> None:
        self.storage = storage
        self.item = RateLimitItemPerSecond(amount, per_seconds, namespace="postino")
        self._limiter = MovingWindowRateLimiter(storage)
        self._last_outage_log = -1e9

    async def hit(self, scope: str, key: str) -> Verdict:
        """Count one hit. A store that does not answer lets the request through (logged):
        an outage of Redis must not stop the gateway, and a limit is not worth a 500."""
        # Secrets never reach the store (Redis may be shared): only their digest does.
        ident = hashlib.sha256(key.encode()).hexdigest()[:32]
        try:
            if await self._limiter.hit(self.item, scope, ident):
                return Verdict(True, 0.0)
            stats = await self._limiter.get_window_stats(self.item, scope, ident)
        except Exception as exc:  # noqa: BLE001 - redis errors come in many classes
            self._report_outage(exc)
            return Verdict(True, 0.0)
        return Verdict(False, max(0.0, stats.reset_time - time.time()))

    def _report_outage(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_outage_log > 60:
            self._last_outage_log = now
            log.error("rate-limit store unreachable (%s): requests are not limited meanwhile", type(exc).__name__)


def storage_for(settings: Settings) -> Storage:
    """Redis when configured (``redis://`` or ``rediss://``), else process memory."""
    url = settings.redis_url.strip()
    if not url:
        return MemoryStorage()
    if url.startswith(("redis://", "rediss://")):
        url = "async+" + url
    return storage_from_string(url, implementation="redispy")


_limiters: "weakref.WeakKeyDictionary[object, RateLimiter]" = weakref.WeakKeyDictionary()


def limiter_for(owner: object, settings: Settings) -> RateLimiter:
    """One limiter per ``owner`` (a Core): apps built in one interpreter do not share counts."""
    limiter = _limiters.get(owner)
    if limiter is None:
        limiter = RateLimiter(storage_for(settings))
        _limiters[owner] = limiter
    return limiter
