"""Phone normalisation: the many ways users write one number lead to one E.164 string."""

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from postino.core.errors import InvalidInput
from postino.core.phones import country_prefix, normalise


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
