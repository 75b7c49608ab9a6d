"""Segment counting per lifecycle.md: GSM 03.38 160/153, UCS-2 70/67, extension chars count 2."""

from hypothesis import given
from hypothesis import strategies as st

from postino.core.messages.segments import count

GSM_BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ!\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
GSM_EXT = "^{}\\[~]|€"


def test_single_and_concatenated_gsm() -> None:
    assert count("a" * 160).parts == 1
    assert count("a" * 161).parts == 2
    assert count("a" * 306).parts == 2
    assert count("a" * 307).parts == 3
    assert count("hello").encoding == "gsm"
    assert count("hello").remaining == 155


def test_extension_characters_count_two() -> None:
    seg = count("€" * 80)
    assert (seg.encoding, seg.units, seg.parts) == ("gsm", 160, 1)
    assert count("€" * 81).parts == 2


def test_ucs2_limits_and_astral_characters() -> None:
    assert count("ç" * 70).encoding == "ucs2"
    assert count("ç" * 70).parts == 1
    assert count("ç" * 71).parts == 2
    assert count("😀" * 35).units == 70
    assert count("😀" * 35).parts == 1
    assert count("😀" * 36).parts == 2


def test_unicode_flag_forces_ucs2() -> None:
    seg = count("hello", force_unicode=True)
    assert (seg.encoding, seg.parts, seg.per_part, seg.data_coding) == ("ucs2", 1, 70, 8)


@given(st.text(alphabet=GSM_BASIC, max_size=1000))
def test_gsm_basic_text_counts_one_septet_per_character(text: str) -> None:
    seg = count(text)
    assert seg.encoding == "gsm"
    assert seg.units == len(text)
    expected = 1 if len(text) <= 160 else -(-len(text) // 153)
    assert seg.parts == expected
    assert 0 <= seg.remaining < seg.per_part or (seg.units == 0 and seg.remaining == 160)


@given(st.text(alphabet=GSM_BASIC + GSM_EXT, max_size=600))
def test_extension_table_counts_two_septets(text: str) -> None:
    seg = count(text)
    assert seg.units == len(text) + sum(ch in GSM_EXT for ch in text)


@given(st.text(min_size=1, max_size=400))
def test_parts_always_hold_the_text(text: str) -> None:
    seg = count(text)
    capacity = seg.per_part * seg.parts
    assert seg.units <= capacity
    if seg.parts > 1:
        assert seg.units > (160 if seg.encoding == "gsm" else 70)
