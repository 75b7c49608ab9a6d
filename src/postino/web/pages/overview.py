"""``/``: the account at a glance — today's and 30 days' messages, balances, phones, connectors, failures."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.responses import Response

from ...core.accounts import billing
from ...core.clock import utcnow
from ...core.devices import devices
from ...core.messages import listing
from ...core.routing import connectors
from ..chart import Day, svg
from ..sessions import SignedIn, core_of
from ..templating import page

router = APIRouter()
DAYS = 30


def day_spans(zone: str, days: int = DAYS) -> list[tuple[datetime, datetime]]:
    """The last ``days`` calendar days in the account's time zone, today last, as UTC spans."""
    tz = ZoneInfo(zone)
    today = utcnow().astimezone(tz).date()
    starts = [today - timedelta(days=n) for n in range(days - 1, -2, -1)]
    edges = [datetime.combine(d, time.min, tzinfo=tz) for d in starts]
    return list(zip(edges, edges[1:]))


@router.get("/")
async def overview(request: Request, viewer: SignedIn) -> Response:
    core = core_of(request)
    spans = day_spans(viewer.timezone)
    async with core.reader() as unit:
        counted = await listing.counts_by_day(unit, viewer.account_id, spans)
        balances = await billing.all_balances(unit, viewer.account_id)
        phones = await devices.list_for(unit, viewer.account_id)
        links = await (connectors.every(unit) if viewer.operator else connectors.list_for(unit, viewer.account_id))
        failures, _ = await listing.page(unit, viewer.account_id, listing.Filter(state="failed"), limit=5)
    days = [Day(start.date(), counts) for (start, _), counts in zip(spans, counted)]
    offline_after = core.settings.offline_after_seconds
    return page(
        request, viewer, "overview.html", chart=svg(days), today=days[-1], month=Day(days[-1].day, _sum(counted)),
        balances=balances, phones=phones, online=sum(p.online(offline_after) for p in phones), connectors=links,
        failures=failures,
    )  # fmt: skip


def _sum(counted: list[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for day in counted:
        for state, n in day.items():
            total[state] = total.get(state, 0) + n
    return total
