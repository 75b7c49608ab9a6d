"""``/dashboard/billing``: balances per product with their expiry, the prices, and the ledger a page at a time."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ...core.accounts import accounts, billing, statements
from ...core.accounts.accounts import DEFAULT_PRICES
from ..sessions import SignedIn, core_of
from ..templating import page

router = APIRouter()


@router.get("/dashboard/billing")
async def billing_page(request: Request, viewer: SignedIn) -> Response:
    before_text = request.query_params.get("before", "")
    before = int(before_text) if before_text.isdigit() and len(before_text) < 19 else None
    async with core_of(request).reader() as unit:
        account = await accounts.get(unit, viewer.account_id)
        balances = await billing.all_balances(unit, viewer.account_id)
        entries, cursor = await statements.page(unit, viewer.account_id, before=before)
    prices = {key: account.price(key) for key in DEFAULT_PRICES}
    return page(request, viewer, "billing.html", balances=balances, entries=entries, cursor=cursor, prices=prices)
