"""The date formats SmsGateway24 clients write, read back exactly in any zone (property tests)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postino.dialects.sg24 import dates

ZONES = st.sampled_from(["UTC", "Europe/Rome", "Australia/Sydney", "America/New_York", "Asia/Kathmandu"])
MOMENTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)


def _real(local: datetime, zone: ZoneInfo) -> bool:
    """Skip wall times a DST change skips (they do not exist in that zone)."""
    aware = local.replace(tzinfo=zone)
    return aware.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None) == local


@settings(max_examples=200, deadline=None)
@given(local=MOMENTS, zone_name=ZONES)
def test_send_formats_read_back_in_the_zone(local: datetime, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    if not _real(local, zone):
        return
    expected = local.replace(tzinfo=zone).astimezone(timezone.utc)
    assert dates.parse(local.strftime("%Y-%m-%d %H:%M:%S"), zone).at == expected
    assert dates.parse(local.strftime("%d.%m.%Y %H:%M:%S"), zone, paket=True).at == expected
    minute = dates.parse(local.strftime("%Y-%m-%d %H:%M"), zone)
    assert minute.at == expected.replace(second=0) and minute.end() - minute.at == timedelta(minutes=1)


@pytest.mark.parametrize(
    "text", ["2024-02-30", "2024-01-01 24:00", "01.02.2024 10:00", "2024/01/01", "now", "1704067200", ""]
)
def test_other_texts_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        dates.parse(text, ZoneInfo("UTC"))


def test_a_bare_day_covers_that_whole_local_day_across_a_dst_change() -> None:
    day = dates.parse("2024-03-31", ZoneInfo("Europe/Rome"))  # 23 hours long
    assert day.at == datetime(2024, 3, 30, 23, 0, tzinfo=timezone.utc)
    assert day.end() == datetime(2024, 3, 31, 22, 0, tzinfo=timezone.utc)
    assert dates.parse("31.03.2024 7:05:00", ZoneInfo("Europe/Rome"), paket=True).at == datetime(
        2024, 3, 31, 5, 5, tzinfo=timezone.utc
    )
