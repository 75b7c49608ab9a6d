"""Phone numbers: what users type, turned into E.164 with libphonenumber's rules.

Users write ``+49 157 52982212``, ``4915752982212``, ``015752982212`` or, through a GET
query that turned ``+`` into a space, `` 4915752982212``. A leading 0 (not 00) is a
national number of the account's country. Other bare digits that begin with the country's
calling code are tried as international first; the rest as national first.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    PhoneNumberFormat,
)

from ..errors import InvalidInput

_SEPARATORS = re.compile(r"[\s\-().\/]")


def _parse(candidate: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(candidate, region)
    except NumberParseException:
        return None


def normalise(raw: str, country: str = "US") -> str:
    """E.164 form of ``raw`` (``+4915752982212``), or ``InvalidInput``.

    Remembered per (text, country): libphonenumber's parse and validity check cost tens
    of microseconds, and senders repeat the same numbers (OTPs, newsletters, retries).
    """
    return _normalise(raw or "", country)


@lru_cache(maxsize=16384)
def _normalise(raw: str, country: str) -> str:
    text = raw.strip("\t\r\n")
    if text.startswith(" ") and text.strip()[:1].isdigit():
        text = "+" + text.strip()
    text = _SEPARATORS.sub("", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    if not re.fullmatch(r"\+?\d{3,17}", text):
        raise InvalidInput(f"Invalid phone number {raw!r}", field="phone")
    candidates: list[tuple[str, str | None]]
    if text.startswith("+"):
        plain = _as_written(text)
        if plain is not None:
            return plain
        candidates = [(text, None)]
    elif text.startswith("0"):
        candidates = [(text, country)]
    elif text.startswith(str(phonenumbers.country_code_for_region(country))):
        candidates = [("+" + text, None), (text, country)]
    else:
        candidates = [(text, country), ("+" + text, None)]
    if len(candidates) == 1:
        # Valid or merely possible, the answer is the same number: the costly validity
        # check only decides between two readings of the digits.
        number = _parse(*candidates[0])
        if number is not None and (phonenumbers.is_possible_number(number) or phonenumbers.is_valid_number(number)):
            return phonenumbers.format_number(number, PhoneNumberFormat.E164)
        raise InvalidInput(f"Invalid phone number {raw!r}", field="phone")
    possible: phonenumbers.PhoneNumber | None = None
    for candidate, region in candidates:
        number = _parse(candidate, region)
        if number is None:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, PhoneNumberFormat.E164)
        if possible is None and phonenumbers.is_possible_number(number):
            possible = number
    if possible is not None:
        return phonenumbers.format_number(possible, PhoneNumberFormat.E164)
    raise InvalidInput(f"Invalid phone number {raw!r}", field="phone")


def _as_written(text: str) -> str | None:
    """``text`` (``+`` and digits) when libphonenumber would read it digit for digit; else None.

    Its parse of an international number changes the digits only when the part after the
    country code begins with a zero or with the country's national prefix; otherwise the
    E.164 form is the text itself and what is left to ask is whether its length is
    possible there — asked of the library, with the library's metadata. Skipped is only
    the parse's clean-up of free text (most of its 20-30 µs), which ``+`` and digits do
    not need. Any other case returns None and goes through the full parse.
    """
    digits = text[1:]
    if not digits or digits[0] == "0":
        return None
    for size in (1, 2, 3):  # country codes are prefix-free: at most one length matches
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    if len(national) < 2 or national[0] == "0":
        return None
    prefix = _national_prefix(code)
    if prefix is None or prefix.match(national):
        return None
    return text if phonenumbers.is_possible_number(PhoneNumber(country_code=code, national_number=int(national))) else None


_NO_PREFIX = re.compile(r"(?!)")  # matches nothing


@lru_cache(maxsize=None)
def _national_prefix(code: int) -> re.Pattern[str] | None:
    """The country's national prefix pattern (never matching when it has none); None without metadata."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, phonenumbers.region_code_for_country_code(code))
    if metadata is None:
        return None
    pattern = metadata.national_prefix_for_parsing
    return re.compile(pattern) if pattern else _NO_PREFIX


def digits(e164: str) -> str:
    """The number without its ``+`` (how NusaSMS and many APIs write it)."""
    return e164.lstrip("+")


def country_prefix(e164: str) -> str:
    """``+39`` for ``+393491234567``."""
    number = phonenumbers.parse(e164, None)
    return f"+{number.country_code}"
