"""Text to submit_sm parts and back, against the part count Postino bills."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from postino.connectors.smpp import pdu, text
from postino.connectors.smpp.text import Concat, Part
from postino.core.messages.segments import count

ITALIAN = (
    "Gentile Maria, il Suo ordine n. 4521 da 129,90 € è stato spedito oggi 😀 e arriverà entro giovedì. " * 5
)[:400]


def udh(part: bytes) -> tuple[int, ...]:
    return tuple(part[:6])


def joined(encoded: text.Encoded) -> str:
    return "".join(text.decode(encoded.data_coding, encoded.esm_class, p).text for p in encoded.parts)


def test_a_long_italian_text_with_euro_and_emoji_is_ucs2_in_seven_parts() -> None:
    assert (len(ITALIAN), ITALIAN.count("😀")) == (400, 4)  # 404 UTF-16 units: 6 x 67 = 402 is not enough
    encoded = text.split(ITALIAN, reference=0x12A)
    assert (encoded.data_coding, encoded.esm_class, len(encoded.parts)) == (8, 0x40, 7)
    assert count(ITALIAN).parts == 7
    assert [udh(p) for p in encoded.parts] == [(5, 0, 3, 0x2A, 7, i) for i in range(1, 8)]
    assert [len(p) for p in encoded.parts] == [6 + 134] * 6 + [6 + 4]
    assert joined(encoded) == ITALIAN


def test_a_short_text_is_one_part_without_udh() -> None:
    assert text.split("Ciao Mario, è pronto!", reference=1) == text.Encoded(0, 0, ["Ciao Mario, è pronto!".encode("gsm03.38")])
    assert text.split("a" * 160, reference=1).parts == [b"a" * 160]
    assert text.split("ç" * 70, reference=1).parts == ["ç".encode("utf-16-be") * 70]
    assert text.split("", reference=1).parts == [b""]


def test_extension_characters_take_two_septets() -> None:
    brackets = "a" * 150 + "[]{}"  # 154 characters, 158 septets
    assert text.split(brackets, reference=1).parts == [b"a" * 150 + b"\x1b\x3c\x1b\x3e\x1b\x28\x1b\x29"]
    assert len(text.split(brackets + "abc", reference=1).parts) == 2 == count(brackets + "abc").parts
    euros = text.split("€" * 81, reference=9)  # 162 septets
    assert [p[6:] for p in euros.parts] == [b"\x1b\x65" * 76, b"\x1b\x65" * 5]
    assert [udh(p) for p in euros.parts] == [(5, 0, 3, 9, 2, 1), (5, 0, 3, 9, 2, 2)]


def test_an_escape_pair_on_the_boundary_moves_whole_to_the_next_part() -> None:
    encoded = text.split("a" * 152 + "{" + "b" * 20, reference=3)
    assert [p[6:] for p in encoded.parts] == [b"a" * 152, b"\x1b\x28" + b"b" * 20]
    assert len(encoded.parts) == count("a" * 152 + "{" + "b" * 20).parts == 2


def test_a_surrogate_pair_on_the_boundary_moves_whole_to_the_next_part() -> None:
    body = "ж" * 66 + "😀" + "ж" * 10  # the emoji's units would be the 67th and 68th
    encoded = text.split(body, reference=3)
    assert [len(p) - 6 for p in encoded.parts] == [132, 24]
    assert joined(encoded) == body


def test_the_billed_count_when_a_pair_moves_the_last_part_over() -> None:
    body = "a" * 152 + "€" + "a" * 152  # 306 septets, but the pair cannot straddle the cut: 3 parts
    assert len(text.split(body, reference=1).parts) == count(body).parts == 3


def test_a_control_escape_goes_as_a_space_not_as_a_dangling_escape() -> None:
    assert text.split("a\x1bb", reference=1).parts == [b"a b"] and count("a\x1bb").units == 3


def test_force_unicode_sends_a_gsm_text_as_ucs2() -> None:
    encoded = text.split("Ciao", force_unicode=True, reference=1)
    assert (encoded.data_coding, encoded.parts) == (8, [b"\x00C\x00i\x00a\x00o"])


GSM_CHARS = "aZ09 @£$¥èéùìòÇ\nØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!?¡¿ÄÖÑÜ§äöñüà"
EXTENSION = "[]{}€|^~\\\f"
OTHERS = "çЖж中😀🇮🇹\u00e1"


def _straddles(body: str, force_unicode: bool) -> bool:
    """Whether a cut every 153 septets / 67 units would fall inside a pair."""
    septets = None if force_unicode else text.gsm_encode(body)
    if septets is not None:
        if len(septets) <= 160:
            return False
        return any(septets[k - 1] == 0x1B for k in range(153, len(septets), 153))
    data = body.encode("utf-16-be")
    if len(data) <= 140:
        return False
    return any(0xD8 <= data[k - 2] <= 0xDB for k in range(134, len(data), 134))


texts = st.one_of(
    st.text(alphabet=st.sampled_from(GSM_CHARS + EXTENSION), max_size=700),
    st.text(alphabet=st.sampled_from(GSM_CHARS + EXTENSION + OTHERS), max_size=500),
    st.text(max_size=300),
)


@settings(max_examples=400, deadline=None)
@given(texts, st.booleans(), st.integers(0, 10_000))
def test_parts_match_the_billed_count_and_rebuild_the_text(body: str, force_unicode: bool, reference: int) -> None:
    encoded = text.split(body, force_unicode=force_unicode, reference=reference)
    billed = count(body, force_unicode=force_unicode)
    assert encoded.data_coding == billed.data_coding
    if _straddles(body, force_unicode):
        assert len(encoded.parts) in (billed.parts, billed.parts + 1)
    else:
        assert len(encoded.parts) == billed.parts
    assert joined(encoded) == (body if encoded.data_coding else body.replace("\x1b", " "))
    if len(encoded.parts) == 1:
        assert encoded.esm_class == 0
        return
    assert encoded.esm_class == 0x40
    total = len(encoded.parts)
    for seq, part in enumerate(encoded.parts, 1):
        assert udh(part) == (5, 0, 3, reference % 256, total, seq)
        payload = part[6:]
        if encoded.data_coding == 0:
            assert 0 < len(payload) <= 153 and payload[-1] != 0x1B
        else:
            assert 0 < len(payload) <= 134 and not 0xD8 <= payload[-2] <= 0xDB


def test_decode_reads_the_8_bit_and_16_bit_concatenation_headers() -> None:
    eight = text.decode(0, 0x40, b"\x05\x00\x03\x2a\x03\x02" + "ciao".encode("gsm03.38"))
    assert eight == Part("ciao", Concat(0x2A, 3, 2))
    sixteen = text.decode(8, 0x40, b"\x06\x08\x04\x12\x34\x02\x01" + "жж".encode("utf-16-be"))
    assert sixteen == Part("жж", Concat(0x1234, 2, 1))
    other_ie_first = text.decode(0, 0x40, b"\x08\x0a\x01\x00\x00\x03\x07\x02\x02hi")  # an unrelated IE, then 00
    assert other_ie_first == Part("hi", Concat(7, 2, 2))


def test_decode_reads_sar_tlvs_and_the_message_payload() -> None:
    tlvs = {pdu.TLV_SAR_MSG_REF_NUM: b"\x01\x00", pdu.TLV_SAR_TOTAL_SEGMENTS: b"\x02", pdu.TLV_SAR_SEGMENT_SEQNUM: b"\x01"}
    assert text.decode(0, 0, b"hello", tlvs) == Part("hello", Concat(256, 2, 1))
    assert text.decode(0, 0, b"", {pdu.TLV_MESSAGE_PAYLOAD: b"long one"}) == Part("long one", None)


def test_decode_by_data_coding() -> None:
    assert text.decode(0, 0, b"\x1b\x65 5 \x00 \x1b\x3c").text == "€ 5 @ ["
    assert text.decode(0, 0, b"\x7f\x04").text == "àè"
    assert text.decode(8, 0, "😀 ok".encode("utf-16-be")).text == "😀 ok"
    assert text.decode(3, 0, "Perché".encode("latin-1")).text == "Perché"
    assert text.decode(4, 0, b"\x00\xff").text == "\x00\xff"
    assert text.decode(0, 0, b"\x1b\x41").text == "\ufffd"  # an unknown escape does not raise
    assert text.decode(0, 0, b"plain") == Part("plain", None)
