"""How many SMS parts a text takes, and in which encoding.

GSM 03.38 when every character is in the default alphabet (extension-table characters
count two septets), else UCS-2 (characters outside the BMP count two units).
One part holds 160 / 70; each part of a concatenated message 153 / 67.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

GSM_SINGLE, GSM_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


@dataclass(frozen=True)
class Segments:
    encoding: str  # "gsm" | "ucs2"
    parts: int
    units: int  # septets (gsm) or UTF-16 code units (ucs2)
    per_part: int
    remaining: int  # room left in the last part

    @property
    def data_coding(self) -> int:
        """SMPP data_coding for this encoding."""
        return 0 if self.encoding == "gsm" else 8


def _basic_alphabet() -> frozenset[str]:
    """The characters that take one septet, as the codec itself encodes them."""
    found = set()
    for septet in range(128):
        try:
            char = bytes([septet]).decode("gsm03.38")
        except UnicodeDecodeError:  # the escape to the extension table
            continue
        if len(char) == 1 and len(char.encode("gsm03.38")) == 1:
            found.add(char)
    return frozenset(found)


_BASIC = _basic_alphabet()


def gsm_septets(text: str) -> int | None:
    """Septets ``text`` takes in GSM 03.38, or None if a character is not in it."""
    if _BASIC.issuperset(text):  # the usual text: one septet a character, no codec call
        return len(text)
    try:
        return len(text.encode("gsm03.38"))
    except UnicodeEncodeError:
        return None


def count(text: str, *, force_unicode: bool = False) -> Segments:
    """The parts ``text`` takes; short texts are remembered (the same OTP template or
    newsletter body is counted once, not once per recipient)."""
    if len(text) <= _REMEMBERED_LENGTH:
        return _count_remembered(text, force_unicode)
    return _count(text, force_unicode)


_REMEMBERED_LENGTH = 1600


@lru_cache(maxsize=4096)
def _count_remembered(text: str, force_unicode: bool) -> Segments:
    return _count(text, force_unicode)


def _count(text: str, force_unicode: bool) -> Segments:
    septets = None if force_unicode else gsm_septets(text)
    if septets is not None:
        encoding, units, single, multi = "gsm", septets, GSM_SINGLE, GSM_MULTI
    else:
        encoding, units, single, multi = "ucs2", len(text.encode("utf-16-be")) // 2, UCS2_SINGLE, UCS2_MULTI
    if units <= single:
        return Segments(encoding, 1, units, single, single - units)
    parts = -(-units // multi)
    wide = len(text) != units  # some characters take two units: a cut may not fall inside one
    if wide:
        parts, last = _cut_parts(text, encoding, multi)
        return Segments(encoding, parts, units, multi, multi - last)
    return Segments(encoding, parts, units, multi, parts * multi - units)


def _cut_parts(text: str, encoding: str, per_part: int) -> tuple[int, int]:
    """Parts and units in the last one, cutting as the wire does: an escape pair (GSM
    extension characters) or a surrogate pair (UCS-2) stays whole, so the part it would
    straddle ends one unit short."""
    parts, used = 1, 0
    for char in text:
        if encoding == "gsm":
            width = 1 if char in _BASIC else len(char.encode("gsm03.38"))
        else:
            width = 2 if ord(char) > 0xFFFF else 1
        if used + width > per_part:
            parts, used = parts + 1, 0
        used += width
    return parts, used
