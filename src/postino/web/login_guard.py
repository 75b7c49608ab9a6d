"""Login attempts, counted with ``limits``: per email (guessing one account's password)
and per client address (trying many accounts from one place).

Ten wrong passwords for one email within a minute lock that email's login for
``LOCK_MINUTES``, also for the right password: a guesser learns nothing from the lock.
The counts live where the API rate limits live (process memory, or Redis when several
processes serve), and only digests of emails and addresses are stored there.
"""

from __future__ import annotations

import hashlib
import weakref

from limits import RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter

from ..core.accounts.ratelimit import storage_for
from ..settings import Settings

FAILURES_PER_EMAIL = 10
FAILURES_PER_ADDRESS = 50
LOCK_MINUTES = 15


def _ident(text: str) -> str:
    return hashlib.sha256(text.strip().lower().encode()).hexdigest()[:32]


class LoginGuard:
    def __init__(self, settings: Settings) -> None:
        self.limiter = MovingWindowRateLimiter(storage_for(settings))
        self.per_email = RateLimitItemPerMinute(FAILURES_PER_EMAIL, namespace="postino-login")
        self.per_address = RateLimitItemPerMinute(FAILURES_PER_ADDRESS, namespace="postino-login")
        self.lock = RateLimitItemPerMinute(1, LOCK_MINUTES, namespace="postino-login")

    async def locked(self, email: str, address: str) -> bool:
        """Whether this email (or this address) may not try now."""
        return not (
            await self.limiter.test(self.lock, "email-lock", _ident(email))
            and await self.limiter.test(self.per_address, "address", _ident(address))
        )

    async def failed(self, email: str, address: str) -> None:
        """Count a wrong password; the tenth for an email within a minute locks it."""
        await self.limiter.hit(self.per_address, "address", _ident(address))
        await self.limiter.hit(self.per_email, "email", _ident(email))
        if not await self.limiter.test(self.per_email, "email", _ident(email)):
            await self.limiter.hit(self.lock, "email-lock", _ident(email))


_guards: "weakref.WeakKeyDictionary[object, LoginGuard]" = weakref.WeakKeyDictionary()


def guard_for(owner: object, settings: Settings) -> LoginGuard:
    """One guard per core: apps built in one interpreter (tests) do not share counts."""
    found = _guards.get(owner)
    if found is None:
        found = _guards[owner] = LoginGuard(settings)
    return found
