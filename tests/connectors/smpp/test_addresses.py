"""Senders and recipients as SMPP addresses with their TON/NPI."""

from __future__ import annotations

import pytest

from postino.connectors.smpp.addresses import destination, e164, source


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("Postino", ("Postino", 5, 0)),
        ("alberto", ("alberto", 5, 0)),
        ("MyShop 24", ("MyShop 24", 5, 0)),
        ("ABCDEFGHIJK", ("ABCDEFGHIJK", 5, 0)),  # 11, the most an alphanumeric sender holds
        ("+393331234567", ("393331234567", 1, 1)),
        ("393331234567", ("393331234567", 1, 1)),  # 9+ digits: a country code is taken as given
        ("+3912345", ("3912345", 1, 1)),
        ("4321", ("4321", 3, 0)),
        ("12345678", ("12345678", 3, 0)),
        ("123", ("123", 3, 0)),
    ],
)
def test_sender_rules(sender: str, expected: tuple[str, int, int]) -> None:
    assert source(sender) == expected


@pytest.mark.parametrize("sender", ["ABCDEFGHIJKL", "Perché", "12", "+12345", "+1234567890123456"])
def test_senders_that_cannot_be_sent(sender: str) -> None:
    with pytest.raises(ValueError):
        source(sender)


def test_no_sender_leaves_it_to_the_smsc() -> None:
    assert source("") == ("", 0, 0) and source("  ") == ("", 0, 0)


def test_explicit_ton_npi_override() -> None:
    assert source("+393331234567", ton=2, npi=1) == ("393331234567", 2, 1)
    assert source("Postino", npi=9) == ("Postino", 5, 9)
    assert source("4321", ton=0, npi=0) == ("4321", 0, 0)


def test_destination() -> None:
    assert destination("+393331234567") == ("393331234567", 1, 1)
    assert destination("6281234567890") == ("6281234567890", 1, 1)
    for bad in ("", "+39 333", "abc", "+123"):
        with pytest.raises(ValueError):
            destination(bad)


def test_inbound_source_as_stored() -> None:
    assert e164("393331234567", 1) == "+393331234567"
    assert e164("alberto", 5) == "alberto" and e164("4321", 3) == "4321"
