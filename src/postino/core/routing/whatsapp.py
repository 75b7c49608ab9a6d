"""WhatsApp senders and number checks.

A WhatsApp sender is a device slot whose channel is WhatsApp (slots 2 and 3, declared by
the phone with ``channels: ["whatsapp"]``); the number it sends from is the
``phoneNumber`` the phone declared for that slot. A request that names a sender goes to
that slot; one that names none is routed like any other message.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

from ..devices import devices as devices_mod
from ..errors import InvalidInput
from ..service import Unit
from . import default as routing

CHANNEL = "whatsapp"
_REACHABLE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


class UnknownSender(InvalidInput):
    code = "unknown_sender"


@dataclass(frozen=True)
class Sender:
    device_id: int
    slot: int
    number: str
    """Digits only, '' when the phone did not declare a number for the slot."""


def _digits(value: object) -> str:
    return "".join(ch for ch in str(value or "") if ch.isdigit())


async def senders(unit: Unit, account_id: int) -> list[Sender]:
    """Every WhatsApp slot of the account's devices."""
    found = []
    for device in await devices_mod.list_for(unit, account_id):
        slots = device.slots()
        for card in device.sim_cards:
            slot = card.get("slotIndex")
            if isinstance(slot, int) and slots.get(slot) == CHANNEL:
                found.append(Sender(device.id, slot, _digits(card.get("phoneNumber"))))
    return found


async def sender_for(unit: Unit, account_id: int, sender: str | None) -> Sender:
    """The slot that sends as ``sender``; any available one when ``sender`` is empty.

    Raises ``UnknownSender`` for a number that is none of the account's WhatsApp slots
    and ``NoRoute`` when the account has no WhatsApp slot at all.
    """
    wanted = _digits(sender)
    if sender and not wanted:
        raise UnknownSender("Invalid WA Sender", field="sender")
    if wanted:
        for candidate in await senders(unit, account_id):
            if candidate.number and candidate.number == wanted:
                return candidate
        raise UnknownSender("Invalid WA Sender", field="sender")
    target = (await routing.plan(unit, account_id, CHANNEL, 1))[0]
    for candidate in await senders(unit, account_id):
        if candidate.device_id == target.device_id and candidate.slot == target.slot:
            return candidate
    return Sender(target.device_id, target.slot, "")


def reachable(number: str) -> bool:
    """Whether ``number`` (international digits) can have a WhatsApp account.

    Decided from libphonenumber's metadata: the number must be valid for its country
    and of a mobile type (WhatsApp registers mobile numbers; fixed lines and service
    numbers cannot receive its verification SMS).
    """
    try:
        parsed = phonenumbers.parse("+" + _digits(number), None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) in _REACHABLE_TYPES
