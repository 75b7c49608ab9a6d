"""The simulated phone's options: durations, slots and how it declares them to the server."""

from __future__ import annotations

import re

import pytest

from postino.simulator import Options, parse_duration, parse_slots
from postino.simulator.options import DEFAULT_FAIL_PATTERN


def test_durations_read_like_the_docs_write_them() -> None:
    assert parse_duration("50ms") == pytest.approx(0.05)
    assert parse_duration("1.5s") == 1.5
    assert parse_duration("2m") == 120
    assert parse_duration("3") == 3
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_slots_declare_their_channels() -> None:
    options = Options(server="http://x/", token="t", slots=parse_slots("0,1,2,4"))
    assert options.api == "http://x/api/mobile/v1"
    assert options.sim_cards() == [
        {"slotIndex": 0, "simNumber": 1},
        {"slotIndex": 1, "simNumber": 2},
        {"slotIndex": 2, "simNumber": 3, "channels": ["whatsapp"]},
        {"slotIndex": 4, "simNumber": 5, "channels": ["rcs"]},
    ]
    with pytest.raises(ValueError):
        parse_slots("0,9")


def test_the_fail_marker_names_its_error() -> None:
    pattern = re.compile(DEFAULT_FAIL_PATTERN, re.I)
    assert pattern.search("plain text") is None
    assert pattern.search("code 1234 #fail").group(1) is None
    assert pattern.search("x #fail:RESULT_ERROR_RADIO_OFF y").group(1) == "RESULT_ERROR_RADIO_OFF"
