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
"""

from __future__ import annotations

import time
from collections.abc import Hashable
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

    def drop(self, key: Hashable) -> None:
        self._data.pop(key, None)

    def drop_where(self, predicate) -> None:
        for key in [k for k, (_, v) in self._data.items() if predicate(k, v)]:
            self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()


class Caches:
    """The caches of one ``Core``."""

    def __init__(self) -> None:
        self.credentials: TTLCache = TTLCache()  # secret hash -> Credential
        self.accounts: TTLCache = TTLCache()  # account id -> Account
        self.devices: TTLCache = TTLCache()  # (account id, device id) or ("token", token hash) -> Device
