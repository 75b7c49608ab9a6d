"""WhatsApp senders and number checks.

A WhatsApp sender is a Cloud API connector (its ``display_number``) or a device slot whose
channel is WhatsApp (slots 2 and 3, declared by the phone with ``channels: ["whatsapp"]``;
the number it sends from is the ``phoneNumber`` the phone declared for that slot). A
request that names a sender goes to it; one that names none is routed like any other
message: by the account's WhatsApp routes, else its phones.

What the Cloud API shows of numbers (delivered or read: on WhatsApp; error 131026: not)
is kept per account in ``whatsapp_numbers``; ``known`` answers number checks from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberType
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from ...db.tables import whatsapp_numbers
from ..clock import utcnow
from ..devices import devices as devices_mod
from ..errors import InvalidInput
from ..service import Unit
from . import connectors as connectors_mod
from . import plan as planning

CHANNEL = "whatsapp"
_REACHABLE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


class UnknownSender(InvalidInput):
    code = "unknown_sender"


@dataclass(frozen=True)
class Sender:
    device_id: int | None
    slot: int | None
    number: str
    """Digits only, '' when the phone did not declare a number for the slot."""
    connector_id: int | None = None
    fallback: tuple[str, int | None] | None = None

    def apply(self, draft: Any) -> Any:
        """Send ``draft`` (a ``messages.Draft``) from this sender."""
        draft.device_id, draft.slot, draft.connector_id = self.device_id, self.slot, self.connector_id
        draft.sender, draft.fallback = self.number, self.fallback
        return draft


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


async def sender_for(unit: Unit, account_id: int, sender: str | None, recipient: str = "") -> Sender:
    """The phone slot or Cloud API connector that sends as ``sender``; a routed one when it is empty.

    Raises ``UnknownSender`` for a number that is none of the account's WhatsApp senders
    and ``NoRoute`` when nothing can take a WhatsApp message to ``recipient`` now.
    """
    wanted = _digits(sender)
    if sender and not wanted:
        raise UnknownSender("Invalid WA Sender", field="sender")
    if wanted:
        for candidate in await senders(unit, account_id):
            if candidate.number and candidate.number == wanted:
                return candidate
        for record in await connectors_mod.list_for(unit, account_id):
            if record.kind == "whatsapp_cloud" and record.config.get("display_number") == wanted:
                return Sender(None, None, wanted, record.id)
        raise UnknownSender("Invalid WA Sender", field="sender")
    target = (await planning.plan(unit, account_id, [planning.Want(CHANNEL, recipient)]))[0]
    if target.connector_id is not None:
        record = (await connectors_mod.live(unit.core, account_id)).get(target.connector_id)
        number = str(record.config.get("display_number") or "") if record else ""
        return Sender(None, None, number, target.connector_id, target.fallback)
    for candidate in await senders(unit, account_id):
        if candidate.device_id == target.device_id and candidate.slot == target.slot:
            return candidate
    return Sender(target.device_id, target.slot, "")


async def learn(unit: Unit, account_id: int, seen: dict[str, bool]) -> None:
    """Remember what the Cloud API showed: ``{digits: on WhatsApp}``; the newest word counts."""
    seen = {n: v for n, v in seen.items() if n and len(n) <= 32}
    if not seen:
        return
    now = utcnow()
    table = whatsapp_numbers
    rows = [{"account_id": account_id, "number": n, "on_whatsapp": v, "seen_at": now} for n, v in seen.items()]
    stmt = (postgresql if unit.is_postgres else sqlite).insert(table)
    await unit.conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.account_id, table.c.number],
            set_={"on_whatsapp": stmt.excluded.on_whatsapp, "seen_at": stmt.excluded.seen_at},
        ),
        rows,
    )


async def known(unit: Unit, account_id: int, numbers: Sequence[str]) -> dict[str, bool]:
    """What the account's Cloud API traffic showed of ``numbers`` (digits); unknown ones are absent."""
    wanted = sorted({_digits(n) for n in numbers if _digits(n)})
    if not wanted:
        return {}
    rows = await unit.conn.execute(
        select(whatsapp_numbers.c.number, whatsapp_numbers.c.on_whatsapp).where(
            whatsapp_numbers.c.account_id == account_id, whatsapp_numbers.c.number.in_(wanted)
        )
    )
    return {r.number: bool(r.on_whatsapp) for r in rows}


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
