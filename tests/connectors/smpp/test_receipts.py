"""Receipt texts as SMSCs write them, and matching their ids to submit_sm_resp ids."""

from __future__ import annotations

import pytest

from postino.connectors.smpp import pdu, receipts
from postino.connectors.smpp.receipts import Receipt, id_key, id_keys, parse

TLV = {pdu.TLV_RECEIPTED_MESSAGE_ID: b"1A2B\x00", pdu.TLV_MESSAGE_STATE: b"\x02"}


@pytest.mark.parametrize(
    ("short_message", "expected"),
    [
        (  # SMPP 3.4 appendix B, as most SMSCs write it
            b"id:0123456789 sub:001 dlvrd:001 submit date:2401151030 done date:2401151031 stat:DELIVRD err:000 text:Ciao",
            Receipt("0123456789", "DELIVRD", "000", "delivered"),
        ),
        (  # no sub: or dlvrd:, an empty text:
            b"id:7220553212 submit date:2401151030 done date:2401151031 stat:UNDELIV err:011 text:",
            Receipt("7220553212", "UNDELIV", "011", "undelivered"),
        ),
        (  # upper-case keys, a hex id
            b"ID:A1B2C3D4 SUB:001 DLVRD:000 SUBMIT DATE:2401151030 DONE DATE:2401161030 STAT:EXPIRED ERR:000 TEXT:x",
            Receipt("A1B2C3D4", "EXPIRED", "000", "expired"),
        ),
        (  # fields in another order, lower-case stat, a UUID id
            "stat:rejectd err:0x0B id:5f1c0a5e-8d7e-4a5e-9c1b-2b4c6d8e0f11",
            Receipt("5f1c0a5e-8d7e-4a5e-9c1b-2b4c6d8e0f11", "REJECTD", "0x0B", "rejected"),
        ),
        (  # words spelled out, underscores in the date keys
            b"id:42 submit_date:2401151030 done_date:2401151031 stat:DELIVERED err:0",
            Receipt("42", "DELIVERED", "0", "delivered"),
        ),
        (b"id:43 stat:UNDELIVERABLE", Receipt("43", "UNDELIVERABLE", None, "undelivered")),
        (b"id:44 stat:ACCEPTD err:000", Receipt("44", "ACCEPTD", "000", "accepted")),
        (b"id:45 stat:ENROUTE", Receipt("45", "ENROUTE", None, "enroute")),
        (b"id:46 stat:DELETED", Receipt("46", "DELETED", None, "deleted")),
        (b"id:47 stat:UNKNOWN", Receipt("47", "UNKNOWN", None, "unknown")),
        (b"id:48", Receipt("48", "UNKNOWN", None, "unknown")),  # no stat at all
        (  # the customer's text quotes receipt words: the real fields come first and win
            b"id:49 stat:DELIVRD err:000 text:id:99 stat:UNDELIV",
            Receipt("49", "DELIVRD", "000", "delivered"),
        ),
    ],
)
def test_receipt_texts(short_message: bytes | str, expected: Receipt) -> None:
    assert parse(short_message) == expected


def test_the_tlvs_win_over_the_text() -> None:
    text = b"id:6699 sub:001 dlvrd:001 submit date:2401151030 done date:2401151031 stat:UNDELIV err:000 text:"
    assert parse(text, TLV) == Receipt("1A2B", "DELIVRD", "000", "delivered")


def test_a_receipt_of_tlvs_only() -> None:
    assert parse(b"", TLV) == Receipt("1A2B", "DELIVRD", None, "delivered")
    states = {value: parse(b"", {pdu.TLV_RECEIPTED_MESSAGE_ID: b"1\x00", pdu.TLV_MESSAGE_STATE: bytes([value])}).state
              for value in range(1, 9)}
    assert states == {1: "enroute", 2: "delivered", 3: "expired", 4: "deleted", 5: "undelivered", 6: "accepted",
                      7: "unknown", 8: "rejected"}


def test_no_id_is_no_receipt() -> None:
    assert parse(b"stat:DELIVRD err:000") is None
    assert parse(b"Hello, this is an ordinary message") is None
    assert parse(b"id: stat:DELIVRD") is None


def test_fields() -> None:
    assert receipts.fields("ID:12 Submit Date:2401151030 DONEDATE:2401151031 stat:DELIVRD") == {
        "id": "12", "submit_date": "2401151030", "done_date": "2401151031", "stat": "DELIVRD",
    }


def test_id_keys_cover_the_forms_smscs_use() -> None:
    assert id_keys("1a2b") == {"1a2b", "6699"}  # hex, and its decimal value
    assert id_keys("1A2B") == {"1a2b", "6699"}
    assert id_keys("6699") == {"6699", "1a2b", "26265"}  # decimal: its hex value; as hex: its decimal value
    assert id_keys("000123") == {"123", "7b", "291"}
    assert id_keys("5f1c0a5e-8d7e-4a5e-9c1b-2b4c6d8e0f11") == {"5f1c0a5e-8d7e-4a5e-9c1b-2b4c6d8e0f11"}
    assert id_keys("0") == {"0"}


@pytest.mark.parametrize(
    ("submitted", "in_receipt"),
    [
        ("1a2b", "6699"),  # submit_sm_resp hex, receipt decimal (Jasmin 535, 1129)
        ("6699", "1A2B"),  # the other way, upper case
        ("1a2b", "1A2B"),  # case
        ("000000001a2b", "1a2b"),  # leading zeros in one PDU only
        ("1a2b", "00006699"),
        (" 42 ", "42"),
    ],
)
def test_a_receipt_id_in_another_form_finds_its_message(submitted: str, in_receipt: str) -> None:
    assert id_key(in_receipt) in id_keys(submitted)


def test_different_ids_do_not_meet() -> None:
    assert id_key("1a2c") not in id_keys("1a2b")
    assert id_key("6698") not in id_keys("1a2b")
