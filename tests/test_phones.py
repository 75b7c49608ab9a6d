"""Phone normalisation: the many ways users write one number lead to one E.164 string."""

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from postino.core.errors import InvalidInput
from postino.core.messages import numbers
from postino.core.messages.numbers import country_prefix, normalise


@pytest.mark.parametrize(
    "raw",
    ["+4915752982212", "4915752982212", "015752982212", "+49 157 52982212", " 4915752982212", "004915752982212",
     "+49-157-5298-2212", "(0157) 52982212"],
)
def test_ways_of_writing_a_german_mobile(raw: str) -> None:
    assert normalise(raw, "DE") == "+4915752982212"


def test_national_numbers_use_the_account_country() -> None:
    assert normalise("3491234567", "IT") == "+393491234567"
    assert normalise("081234567890", "ID") == "+6281234567890"
    assert normalise("6281234567890", "ID") == "+6281234567890"


@pytest.mark.parametrize("raw", ["", "abc", "+", "12", "++49157", "+49 157 abc", "4915752982212345678901"])
def test_garbage_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalise(raw, "DE")


def test_country_prefix() -> None:
    assert country_prefix("+393491234567") == "+39"


REGIONS = ["IT", "DE", "ID", "US", "GB", "FR", "BR", "PT"]


@given(st.sampled_from(REGIONS), st.integers(min_value=0, max_value=10**6))
def test_example_numbers_survive_every_spelling(region: str, salt: int) -> None:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    international = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    other = REGIONS[salt % len(REGIONS)]
    assert normalise(e164, other) == e164
    assert normalise(international, other) == e164
    assert normalise(" " + e164[1:], other) == e164  # "+" arrived as a space
    assert normalise("00" + e164[1:], other) == e164
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    assert normalise(national, region) == e164


@given(st.text(max_size=30))
def test_normalise_is_idempotent_or_refuses(raw: str) -> None:
    try:
        once = normalise(raw, "IT")
    except InvalidInput:
        return
    assert once.startswith("+")
    assert normalise(once, "US") == once


def _library_reading(text: str) -> str | None:
    """What libphonenumber alone makes of ``text``: the E.164 form, or None when refused."""
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_possible_number(number) or phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


@given(st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)), st.text("0123456789", min_size=1, max_size=14))
def test_plus_numbers_read_as_written_only_where_the_library_agrees(code: int, rest: str) -> None:
    text = f"+{code}{rest}"
    shortcut = numbers._as_written(text)
    expected = _library_reading(text)
    if shortcut is not None:
        assert shortcut == expected == text
    if expected is None:
        with pytest.raises(InvalidInput):
            normalise(text, "IT")
    else:
        assert normalise(text, "IT") == expected


def test_every_countrys_example_numbers_agree_with_the_library() -> None:
    taken = 0
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            shortcut = numbers._as_written(e164)
            taken += shortcut is not None
            assert shortcut in (None, _library_reading(e164))
            assert normalise(e164, "US") == _library_reading(e164)
    assert taken > 300  # the common case does take the short way


def test_numbers_the_library_rewrites_are_rewritten() -> None:
    """``+44 07…``-style input (a national prefix after the country code) is not taken as written."""
    rewritten = 0
    for region in phonenumbers.SUPPORTED_REGIONS:
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        if example is None:
            continue
        national = phonenumbers.national_significant_number(example)
        prefix = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix or ""
        for extra in {"0", "1", "8", prefix}:
            text = f"+{example.country_code}{extra}{national}"
            expected = _library_reading(text)
            if expected is None:
                continue
            rewritten += expected != text
            assert normalise(text, "US") == expected, text
    assert rewritten > 100  # e.g. +995 0555 123456 -> +995555123456, +375 8 29… -> +37529…
