"""The SMPP connector: a connector record served by one transceiver bind.

Settings (``parse``): ``host``, ``port``, ``system_id``, ``system_type``, ``window``
(outstanding ``submit_sm``, default 10), ``tps`` (messages per second, none = as fast as
the window allows), ``tls``, ``source_ton``/``source_npi`` (override what the sender
looks like), ``default_sender`` (when a message names none), ``max_queue`` (routing
skips the connector while more wait for it); the secret is ``password``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ...settings import Settings
from .. import base
from . import pdu, receipts
from .session import InboundPart, NotBound, Outgoing, Rejected, SmppClient, SmppConfig, Throttled

KIND = "smpp"
SYSTEM_ID_MAX = 15  # C-octet strings of 16 and 9 octets in SMPP 3.4
PASSWORD_MAX = 8

REASONS = {pdu.ESME_RINVDSTADR: "invalid_destination"}
"""SMPP status -> the message's failure reason; any other refusal is ``rejected``."""


def _text(options: dict[str, Any], name: str, limit: int, *, required: bool = False) -> str:
    value = options.get(name)
    value = "" if value is None else str(value)
    if required and not value:
        raise base.SettingsError(f"{name} is required", field=name)
    if len(value) > limit or not value.isprintable() or not value.isascii():
        raise base.SettingsError(f"{name} is printable ASCII of at most {limit} characters", field=name)
    return value


def _flag(options: dict[str, Any], name: str) -> bool:
    value = options.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise base.SettingsError(f"{name} is true or false", field=name)
    return value


def parse(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Check an SMPP connector's settings: (config to store, secrets to seal)."""
    config: dict[str, Any] = {
        "host": _text(options, "host", 253, required=True),
        "port": base.whole_number(options, "port", 1, 65535, None),
        "system_id": _text(options, "system_id", SYSTEM_ID_MAX, required=True),
        "system_type": _text(options, "system_type", 12),
        "window": base.whole_number(options, "window", 1, 1000, 10),
        "tps": base.whole_number(options, "tps", 1, 100_000, None),
        "tls": _flag(options, "tls"),
        "source_ton": base.whole_number(options, "source_ton", 0, 6, None),
        "source_npi": base.whole_number(options, "source_npi", 0, 18, None),
        "default_sender": _text(options, "default_sender", 15),
        "max_queue": base.whole_number(options, "max_queue", 1, 10_000_000, None),
    }
    if config["port"] is None:
        raise base.SettingsError("port is required", field="port")
    password = _text(options, "password", PASSWORD_MAX, required=True)
    return {k: v for k, v in config.items() if v not in (None, "")} | {"tls": config["tls"]}, {"password": password}


def describe(record: Any) -> str:
    c = record.config
    return f"{c.get('system_id')}@{c.get('host')}:{c.get('port')}" + (" tls" if c.get("tls") else "")


class SmppConnector(base.Connector):
    kind = KIND

    def __init__(self, record: Any, secrets: dict[str, str], reports: base.Reports, settings: Settings) -> None:
        super().__init__(record, reports)
        c = record.config
        self.settings = settings
        self.config = SmppConfig(
            host=c["host"],
            port=int(c["port"]),
            system_id=c["system_id"],
            password=secrets.get("password", ""),
            system_type=c.get("system_type", ""),
            window=int(c.get("window", 10)),
            tps=c.get("tps"),
            tls=bool(c.get("tls")),
            source_ton=c.get("source_ton"),
            source_npi=c.get("source_npi"),
            enquire_link_seconds=float(c.get("enquire_link_seconds", 30)),
        )
        self.default_sender = c.get("default_sender", "")
        self.refusal: str | None = None
        self.client = SmppClient(self.config, _Handler(self))

    @property
    def window(self) -> int:
        return self.config.window

    @property
    def state(self) -> str:
        return self.client.state

    async def run(self, stop: asyncio.Event) -> None:
        """Bind and keep the bind, once the SMSC's address is one outgoing traffic may reach."""
        while not stop.is_set():
            refusal = self.refusal = await base.refusal(self.config.host, self.config.port, self.settings)
            if refusal is None:
                await self.client.run(stop)
                return
            self.reports.link("down", refusal)
            try:
                await asyncio.wait_for(stop.wait(), timeout=30)
            except asyncio.TimeoutError:
                pass

    async def send(self, message: base.Outbound) -> base.Sent:
        outgoing = Outgoing(
            destination=message.recipient,
            text=message.body,
            sender=message.sender or self.default_sender,
            force_unicode=message.encoding == "ucs2",
            reference=message.id % 256,
        )
        try:
            ids = await self.client.submit(outgoing)
        except Rejected as exc:
            if exc.accepted:
                return _sent(exc.accepted, error=f"{exc.name} after {len(exc.accepted)} parts")
            raise base.Refuse(REASONS.get(exc.status, "rejected"), str(exc)) from None
        except (NotBound, Throttled) as exc:
            if exc.accepted:  # answered parts are never sent again
                return _sent(exc.accepted, error=f"{exc} after {len(exc.accepted)} parts")
            raise base.GiveBack(str(exc)) from None
        return _sent(ids)

    def stats(self) -> dict[str, Any]:
        found = self.client.stats()
        if self.refusal:
            found["last_error"] = self.refusal
        return found


def forms(message_id: str) -> list[str]:
    """The id normalised first, then the other forms a peer may write it in (``receipts.id_keys``)."""
    key = receipts.id_key(message_id)
    return [key, *sorted(receipts.id_keys(message_id) - {key})]


def _sent(ids: list[str], *, error: str | None = None) -> base.Sent:
    return base.Sent(ids=ids, keys=[forms(i) for i in ids], parts=len(ids), error=error)


class _Handler:
    """The session's events, handed to the worker's reports (durable before the SMSC hears back)."""

    def __init__(self, connector: SmppConnector) -> None:
        self.connector = connector

    async def bound(self) -> None:
        self.connector.reports.link("bound")

    async def unbound(self, reason: str) -> None:
        self.connector.reports.link("down", reason)

    async def receipt(self, receipt: receipts.Receipt) -> None:
        await self.connector.reports.receipt(
            forms=forms(receipt.message_id), state=receipt.state, stat=receipt.stat, error=receipt.error or ""
        )

    async def inbound(self, part: InboundPart) -> None:
        concat = base.Concat(part.concat.ref, part.concat.total, part.concat.seq) if part.concat else None
        await self.connector.reports.inbound(
            source=part.source, destination=part.destination, text=part.text, concat=concat
        )


KIND_INFO = base.Kind(
    name=KIND,
    channels=frozenset({"sms"}),
    secret_fields=("password",),
    parse=parse,
    build=SmppConnector,
    describe=describe,
)
