"""Inbound messages: an SMS a phone received, stored as a ``received`` message.

For a received message ``recipient`` holds the other party (the number that wrote to
us), like it does for an outgoing one, so every listing shows "who" in one column;
``sender`` holds it too, and ``extra`` keeps the number of our SIM that received it
(``to``) and the phone's own id of the SMS (``phone_message_id``). The phone's id is
also kept in ``customer_id`` so a webhook the phone retries is stored only once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ...db.tables import messages as messages_table
from ..accounts import accounts
from ..devices.devices import Device
from ..errors import InvalidInput
from ..service import Unit
from . import lifecycle, messages
from .numbers import normalise


@dataclass(frozen=True)
class Received:
    """A stored inbound message (``Core.listeners.received`` hear of it in ``submit``)."""

    id: int
    account_id: int
    device_id: int
    sender: str
    body: str
    slot: int | None
    received_at: datetime | None
    duplicate: bool = False


async def receive(
    unit: Unit,
    device: Device,
    *,
    sender: str,
    body: str,
    phone_message_id: str | None = None,
    recipient: str | None = None,
    slot: int | None = None,
    received_at: datetime | None = None,
    channel: str = "sms",
) -> Received:
    """Store what ``device`` received; a repeated ``phone_message_id`` returns the first copy."""
    if not sender or not isinstance(sender, str):
        raise InvalidInput("sender is required", field="sender")
    account = await accounts.get(unit, device.account_id)
    key = (phone_message_id or "")[:64] or None
    if key is not None:
        existing = await unit.conn.scalar(
            select(messages_table.c.id).where(
                messages_table.c.device_id == device.id,
                messages_table.c.state == lifecycle.RECEIVED,
                messages_table.c.customer_id == key,
            )
        )
        if existing is not None:
            return Received(int(existing), device.account_id, device.id, sender, body, slot, received_at, True)
    try:
        who = normalise(sender, account.country)
    except InvalidInput:
        who = sender.strip()[:64]  # alphanumeric senders ("BANK") stay as they are
    extra: dict = {"to": recipient or "", "phone_message_id": phone_message_id or ""}
    if received_at is not None:
        extra["received_at"] = received_at.isoformat()
    draft = messages.Draft(
        recipient=who,
        recipient_raw=sender[:128],
        body=body or "",
        sender=who,
        channel=channel,
        device_id=device.id,
        slot=slot,
        customer_id=key,
        extra=extra,
        state=lifecycle.RECEIVED,
    )
    accepted = await messages.submit(unit, account, [draft], charge=False)
    return Received(accepted.ids[0], device.account_id, device.id, who, body or "", slot, received_at)


async def receive_from_connector(
    unit: Unit, account_id: int, connector_id: int, *, sender: str, body: str, recipient: str, channel: str = "sms",
    media_url: str | None = None, extra: dict | None = None,
) -> int:
    """Store what a connector (an SMSC) delivered to the account; the new message's id.

    Stored like a phone's inbound SMS (same columns, same listeners), with the connector
    in place of the phone; the number or sender name it was sent to is ``extra.to``.
    """
    account = await accounts.get(unit, account_id)
    try:
        who = normalise(sender, account.country)
    except InvalidInput:
        who = sender.strip()[:64]
    draft = messages.Draft(
        recipient=who,
        recipient_raw=sender[:128],
        body=body,
        sender=who,
        channel=channel,
        connector_id=connector_id,
        media_url=media_url,
        extra={"to": recipient, **(extra or {})},
        state=lifecycle.RECEIVED,
    )
    accepted = await messages.submit(unit, account, [draft], charge=False)
    return accepted.ids[0]
