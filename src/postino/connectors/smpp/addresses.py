"""SMPP addresses: a sender or recipient as (addr, TON, NPI).

TON/NPI tell the SMSC how to read the digits. A wrong pair is a common cause of
ESME_RINVSRCADR, so the rules are here, and a connector can override them.
"""

from __future__ import annotations

from functools import lru_cache

TON_UNKNOWN, TON_INTERNATIONAL, TON_NATIONAL, TON_NETWORK, TON_ALPHANUMERIC = 0, 1, 2, 3, 5
NPI_UNKNOWN, NPI_ISDN = 0, 1

ALPHANUMERIC_MAX = 11
SHORT_CODE_MAX = 8


@lru_cache(maxsize=1024)
def source(sender: str, *, ton: int | None = None, npi: int | None = None) -> tuple[str, int, int]:
    """The source address of a sender (empty: TON 0 / NPI 0, the SMSC's default sender).

    Letters anywhere: alphanumeric, TON 5 / NPI 0, at most 11 characters. ``+`` and
    digits, or 9+ digits (taken to start with a country code): international, TON 1 /
    NPI 1, sent without the ``+``. 3–8 digits: a short code, TON 3 / NPI 0. A 7- or
    8-digit sender without ``+`` is read as a short code; an SMSC that wants otherwise is
    given ``ton`` / ``npi``, which override what the sender looks like.
    """
    sender = sender.strip()
    if not sender:  # no sender: the SMSC puts the account's default one
        return ("", TON_UNKNOWN if ton is None else ton, NPI_UNKNOWN if npi is None else npi)
    digits = sender[1:] if sender.startswith("+") else sender
    if digits.isdigit() and digits.isascii():
        if sender.startswith("+") or len(digits) > SHORT_CODE_MAX:
            if not 7 <= len(digits) <= 15:
                raise ValueError(f"{sender!r} is not an international number")
            found = (digits, TON_INTERNATIONAL, NPI_ISDN)
        elif len(digits) >= 3:
            found = (digits, TON_NETWORK, NPI_UNKNOWN)
        else:
            raise ValueError(f"{sender!r} is too short for a short code")
    else:
        if len(sender) > ALPHANUMERIC_MAX or not sender.isascii() or not sender.isprintable():
            raise ValueError(f"{sender!r} is not an alphanumeric sender (ASCII, at most {ALPHANUMERIC_MAX})")
        found = (sender, TON_ALPHANUMERIC, NPI_UNKNOWN)
    return (found[0], found[1] if ton is None else ton, found[2] if npi is None else npi)


def destination(e164: str) -> tuple[str, int, int]:
    """``+393331234567`` as ``("393331234567", 1, 1)``."""
    digits = e164.strip().removeprefix("+")
    if not (digits.isdigit() and digits.isascii() and 7 <= len(digits) <= 15):
        raise ValueError(f"{e164!r} is not an E.164 number")
    return digits, TON_INTERNATIONAL, NPI_ISDN


def e164(addr: str, ton: int) -> str:
    """An inbound address as Postino stores it: ``+`` and digits when international."""
    if ton == TON_INTERNATIONAL and addr.isdigit():
        return "+" + addr
    return addr
