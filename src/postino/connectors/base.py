"""The interface every connector has: what it serves, its link, one send, its reports.

A connector is built from its record (``core.routing.connectors``) and the clear secrets,
keeps its link up in ``run`` (bind, reconnect), and sends one message at a time in
``send`` — the worker (``dispatch.connectors``) runs ``window`` sends at once. What comes
back unasked (receipts, inbound messages, the link going up or down) it hands to its
``Reports``, which make it durable before they return: an SMPP connector answers the
SMSC only after that.

Phones are not connectors of this kind: they pull their work over the device API.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from ..core.net import guard
from ..core.routing.connectors import Connector as Record


class SettingsError(ValueError):
    """A connector's settings are wrong; the message names the setting."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def whole_number(options: dict[str, Any], name: str, low: int, high: int, default: int | None) -> int | None:
    """A whole-number setting between ``low`` and ``high``; ``default`` when it is not given."""
    value = options.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{name} is a whole number", field=name) from None
    if not low <= number <= high:
        raise SettingsError(f"{name} is between {low} and {high}", field=name)
    return number


async def refusal(host: str, port: int, settings: Any) -> str | None:
    """Why the operator's network policy forbids connecting to ``host``; None when it may be reached."""
    try:
        addresses = await guard.resolve(host, port)
        guard.ensure_allowed(host, addresses, guard.Policy.of(settings))
    except guard.BlockedURL as exc:
        return f"{exc.message} (see POSTINO_ALLOWED_PRIVATE_NETWORKS)"
    except OSError as exc:
        return f"cannot resolve {host}: {exc}"
    return None


@dataclass(frozen=True)
class Outbound:
    """One message as the connector needs it (a row of the queue, trimmed)."""

    id: int
    recipient: str
    body: str
    sender: str
    channel: str
    encoding: str
    media_url: str | None = None
    extra: dict[str, Any] | None = None


@dataclass(frozen=True)
class Sent:
    """The carrier's ids of a message's parts, each with its forms (normalised first, then the
    others a receipt may write it in)."""

    ids: Sequence[str]
    keys: Sequence[Sequence[str]]
    parts: int
    error: str | None = None


class GiveBack(Exception):
    """Not sent (the link dropped before an answer, the carrier asked to wait): queue it again."""


class Refuse(Exception):
    """The carrier refused it for good: the message fails with ``reason`` and ``error``."""

    def __init__(self, reason: str, error: str) -> None:
        super().__init__(error)
        self.reason = reason
        self.error = error


@dataclass(frozen=True)
class Concat:
    ref: int
    total: int
    seq: int


class Reports(Protocol):
    """What the worker does with what a connector reports; each is durable when it returns."""

    async def receipt(self, *, forms: Sequence[str], state: str, stat: str, error: str = "") -> None:
        """``forms``: the receipt's id normalised first, then its other forms (hex, decimal)."""

    async def inbound(self, *, source: str, destination: str, text: str, concat: Concat | None) -> None: ...

    def link(self, state: str, detail: str = "") -> None:
        """The link went up or down (written by the worker's next heartbeat, at once on change)."""


@dataclass
class Kind:
    """One kind of connector: how to read its settings, how to build it."""

    name: str
    channels: frozenset[str]
    secret_fields: tuple[str, ...]
    parse: Any
    """``parse(options: dict) -> (config, secrets)``; ``SettingsError`` on a bad setting."""
    build: Any
    """``build(record, secrets, reports, settings) -> Connector``."""
    describe: Any = field(default=None)
    """``describe(record) -> str``: one line for a listing (host:port …)."""


class Connector(ABC):
    """A connector of one record, alive while the worker serves it."""

    kind: ClassVar[str]
    receipts_elsewhere: ClassVar[bool] = False
    """Its receipts come by another path (an HTTP webhook to any node), so one may be stored
    before the id it names: look for such receipts on every write of sent ids."""

    def __init__(self, record: Record, reports: Reports) -> None:
        self.record = record
        self.reports = reports

    @property
    @abstractmethod
    def window(self) -> int:
        """How many sends the worker runs at once."""

    @property
    @abstractmethod
    def state(self) -> str:
        """``down`` | ``binding`` | ``bound``: the worker claims work only while bound."""

    @abstractmethod
    async def run(self, stop: asyncio.Event) -> None:
        """Keep the link up until ``stop`` is set."""

    @abstractmethod
    async def send(self, message: Outbound) -> Sent:
        """Send one message; ``GiveBack`` or ``Refuse`` when it did not go."""

    def stats(self) -> dict[str, Any]:
        """Counters and gauges for ``/metrics`` and ``connectors show``."""
        return {"bind_state": self.state}
