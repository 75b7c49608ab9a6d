"""Small in-process caches for the accept hot path: credentials, accounts, devices.

Only positive lookups are kept, and only for ``TTL`` seconds, so what another process
changes is seen within that time. What must be exact is not left to the cache:

- a credential found here is checked again inside the write transaction that uses it
  (``credentials.check_live``), so a token revoked by any process is refused by the
  very next request;
- changes made in this process (revoke, account settings, device updates) drop the
  entry at once.

Account settings (prices, country, time zone) and device slots from another process
can thus be up to ``TTL`` seconds old; that is the documented price of not reading
three rows per accepted message.

When an entry expires under load, the requests that want it wait for one read
(``fetch``) instead of each starting its own: sixty-four clients on one token would
otherwise send sixty-four identical reads to the database every ``TTL`` seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

TTL = 2.0
MAX_ENTRIES = 10_000


class TTLCache(Generic[V]):
    """A dict whose entries expire; bounded by dropping everything when full (rare, cheap)."""

    def __init__(self, ttl: float = TTL, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._data: dict[Hashable, tuple[float, V]] = {}
        self._loading: dict[Hashable, asyncio.Future[V | None]] = {}
        self._epoch = 0  # bumped by every drop, so a read that began before it is not kept

    def get(self, key: Hashable) -> V | None:
        hit = self._data.get(key)
        if hit is None:
            return None
        if hit[0] < time.monotonic():
            self._data.pop(key, None)
            return None
        return hit[1]

    def put(self, key: Hashable, value: V) -> None:
        if len(self._data) >= self.max_entries:
            self._data.clear()
        self._data[key] = (time.monotonic() + self.ttl, value)

    async def fetch(self, key: Hashable, load: Callable[[], Awaitable[V | None]]) -> V | None:
        """The cached value, else ``load()``'s, shared by everyone asking meanwhile.

        The read runs as its own task: a caller that goes away (a client hung up) does
        not cancel it for the others. Its error reaches every waiter; None and errors
        are not kept.
        """
        value = self.get(key)
        if value is not None:
            return value
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._load(key, load, self._epoch))
            self._loading[key] = pending
            pending.add_done_callback(lambda done: self._loaded(key, done))
        return await asyncio.shield(pending)

    async def _load(self, key: Hashable, load: Callable[[], Awaitable[V | None]], epoch: int) -> V | None:
        value = await load()
        if value is not None and epoch == self._epoch:
            self.put(key, value)
        return value

    def _loaded(self, key: Hashable, done: asyncio.Future) -> None:
        if self._loading.get(key) is done:
            del self._loading[key]
        if not done.cancelled():
            done.exception()  # retrieved: every waiter may have gone

    def drop(self, key: Hashable) -> None:
        self._epoch += 1
        self._data.pop(key, None)

    def drop_where(self, predicate) -> None:
        self._epoch += 1
        for key in [k for k, (_, v) in self._data.items() if predicate(k, v)]:
            self._data.pop(key, None)

    def clear(self) -> None:
        self._epoch += 1
        self._data.clear()


class Caches:
    """The caches of one ``Core``."""

    def __init__(self) -> None:
        self.credentials: TTLCache = TTLCache()  # secret hash -> Credential
        self.accounts: TTLCache = TTLCache()  # account id -> Account
        self.devices: TTLCache = TTLCache()  # (account id, device id) or ("token", token hash) -> Device
        self.routes: TTLCache = TTLCache()  # account id -> its routes, in order
        self.connectors: TTLCache = TTLCache(ttl=1.0)  # account id -> {id: Connector}: up/down is seen within a second
        self.queue_lengths: TTLCache = TTLCache(ttl=1.0)
        """Phones' ids -> {phone id: messages queued}, counted at most once a second and raised
        by every message this process routes meanwhile (``routing.default``)."""
        self.route_turns: dict[int, dict[int, int]] = {}
        """Per route, each connector's running score of the smooth weighted round robin
        (``routing.routes.pick``): process-local, as exact splits need no coordination."""
