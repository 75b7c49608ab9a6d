"""Delivery receipts: the ``id:… stat:…`` text of a deliver_sm, and how its id is matched.

SMPP 3.4 appendix B gives the receipt text only as an example, so SMSCs vary: keys in
upper case, fields missing or reordered, ``sub:`` left out. The receipted_message_id and
message_state TLVs, where present, are the SMSC's own structured answer and win.

The id in a receipt is often not written as submit_sm_resp wrote it: one PDU says hex
``1A2B``, the other decimal ``6699``, or leading zeros come and go. That mismatch is the
most common delivery-report bug in SMPP gateways (Jasmin issues 535, 586, 643, 1129).
So a submitted part is stored under every form its id may take (``id_keys``) and a
receipt is looked up by one canonical form (``id_key``); they meet when the forms agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import smpp34

from . import pdu

STATES = {
    "DELIVRD": "delivered",
    "UNDELIV": "undelivered",
    "EXPIRED": "expired",
    "REJECTD": "rejected",
    "DELETED": "deleted",
    "UNKNOWN": "unknown",
    "ACCEPTD": "accepted",
    "ENROUTE": "enroute",
}
# message_state TLV values (SMPP 3.4 5.2.28) by the stat word of the same meaning.
MESSAGE_STATES = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD"}
# Spelled-out words some SMSCs use (DELIVERED, UNDELIVERABLE, FAILED), by their first five letters.
_PREFIXES = {stat[:5]: STATES[stat] for stat in STATES} | {
    "UNDEL": "undelivered", "REJEC": "rejected", "ACCEP": "accepted", "FAILE": "undelivered",
}

_FIELD = re.compile(r"(?<!\S)(id|sub|dlvrd|(?:submit|done)[ _]?date|stat|err|text) *:", re.IGNORECASE)
_HEX = re.compile(r"[0-9a-f]+")
_KEYS = {f"{word}{sep}date": f"{word}_date" for word in ("submit", "done") for sep in ("", " ", "_")}


@dataclass(frozen=True)
class Receipt:
    message_id: str
    stat: str  # the SMSC's word, upper case: DELIVRD, UNDELIV, … (the TLV's, when sent)
    error: str | None
    state: str  # Postino's: delivered, undelivered, expired, rejected, deleted, unknown, accepted, enroute


def fields(text: str) -> dict[str, str]:
    """``key: value`` pairs of a receipt text, keys lower case, ``submit date`` as ``submit_date``."""
    found: dict[str, str] = {}
    matches = list(_FIELD.finditer(text))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        key = match.group(1).lower()
        found.setdefault(_KEYS.get(key, key), text[match.end() : end].strip())
    return found


def _state(stat: str) -> str:
    return STATES.get(stat) or _PREFIXES.get(stat[:5], "unknown")


def parse(
    short_message: bytes | str,
    tlvs: Iterable[smpp34.Tlv] | Mapping[int, bytes] | None = None,
) -> Receipt | None:
    """The receipt in a deliver_sm, or None when it names no message id."""
    text = short_message.decode("latin-1") if isinstance(short_message, bytes) else short_message
    found = fields(text)
    tags = pdu.tlv_map(tlvs)
    message_id = found.get("id", "")
    if pdu.TLV_RECEIPTED_MESSAGE_ID in tags:
        message_id = pdu.message_id(tags[pdu.TLV_RECEIPTED_MESSAGE_ID]) or message_id
    message_id = message_id.strip()
    if not message_id:
        return None
    stat = found.get("stat", "").upper() or "UNKNOWN"
    state_tlv = tags.get(pdu.TLV_MESSAGE_STATE)
    if state_tlv and int.from_bytes(state_tlv, "big") in MESSAGE_STATES:
        stat = MESSAGE_STATES[int.from_bytes(state_tlv, "big")]
    error = found.get("err") or None
    return Receipt(message_id, stat, error, _state(stat))


def id_key(message_id: str) -> str:
    """The canonical form of an id: trimmed, case-folded, leading zeros stripped."""
    key = message_id.strip().casefold().lstrip("0")
    return key or ("0" if message_id.strip() else "")


def id_keys(message_id: str) -> set[str]:
    """Every canonical form a receipt may use for the id a submit_sm_resp gave.

    The id itself (``id_key``), and as the other base: a hex id's decimal value, a decimal
    id's hex value (an all-digit id is read both ways, as it may be either). Ids that are
    not numbers (UUIDs, with dashes) stay as they are.
    """
    key = id_key(message_id)
    keys = {key}
    if key and _HEX.fullmatch(key):
        keys.add(str(int(key, 16)))
        if key.isdigit():
            keys.add(format(int(key), "x"))
    return keys
