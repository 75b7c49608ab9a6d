"""``/dashboard/operator``: for operators only (404 to everyone else) — every account with its
balances, top-ups, every connector and route, and the instance's health."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from starlette.responses import RedirectResponse, Response

from ...core.accounts import accounts as accounts_mod
from ...core.accounts import billing, operators
from ...core.errors import DomainError
from ...core.routing import connectors, routes
from ...db.tables import accounts, messages, outbox
from .. import forms
from ..sessions import Operator, Viewer, core_of
from ..templating import page

router = APIRouter()


async def _page(request: Request, viewer: Viewer, *, status_code: int = 200, error: str = "") -> Response:
    core = core_of(request)
    async with core.reader() as unit:
        found, _ = await operators.every_account(unit, limit=200)
        balances = {a.id: await billing.all_balances(unit, a.id) for a in found}
        links = await connectors.every(unit)
        paths = [r for a in found for r in await routes.list_for(unit, a.id)]
        queued = await unit.conn.scalar(select(func.count()).select_from(messages).where(messages.c.state.in_(("queued", "assigned"))))
        backlog = await unit.conn.scalar(select(func.count()).select_from(outbox).where(outbox.c.state == "pending"))
    database = await core.database_error() or "ok"
    emails = {a.id: a.email for a in found}
    return page(request, viewer, "operator.html", status_code=status_code, accounts=found, balances=balances,
                connectors=links, routes=paths, emails=emails, queued=queued, backlog=backlog, database=database,
                products=billing.PRODUCTS, error=error)  # fmt: skip


@router.get("/dashboard/operator")
async def operator_page(request: Request, viewer: Operator) -> Response:
    return await _page(request, viewer)


@router.post("/dashboard/operator/topup")
async def top_up(request: Request, viewer: Operator) -> Response:
    form = await forms.read(request)
    try:
        account_id = forms.number(form, "account_id", low=1)
        product = forms.text(form, "product", max_length=16)
        try:
            amount = Decimal(forms.text(form, "amount", max_length=30, required="Give an amount"))
        except InvalidOperation:
            raise forms.FormError("The amount is not a number", field="amount") from None
        if not amount.is_finite() or amount <= 0 or amount > Decimal("1e12"):
            raise forms.FormError("The amount must be more than 0", field="amount")
        async with core_of(request).unit() as unit:
            exists = await unit.conn.scalar(select(accounts.c.id).where(accounts.c.id == (account_id or 0)))
            if exists is None:
                raise forms.FormError("Unknown account", field="account_id")
            await billing.top_up(unit, exists, product, amount, note=f"dashboard top-up by {viewer.email}"[:200])
    except DomainError as exc:
        return await _page(request, viewer, status_code=422, error=forms.message_of(exc))
    return RedirectResponse("/dashboard/operator", status_code=303)


@router.post("/dashboard/operator/accounts")
async def create_account(request: Request, viewer: Operator) -> Response:
    """A new account with the password given here; its holder creates its credentials on their own pages."""
    form = await forms.read(request)
    try:
        async with core_of(request).unit() as unit:
            made = await accounts_mod.create(
                unit, email=forms.text(form, "email", max_length=320), password=str(form.get("password") or "")[:1000],
                country=forms.text(form, "country", max_length=2) or "US", timezone=forms.text(form, "timezone", max_length=64) or "UTC",
            )  # fmt: skip
            if forms.flag(form, "operator"):
                await operators.set_operator(unit, made.id)
    except DomainError as exc:
        return await _page(request, viewer, status_code=422, error=forms.message_of(exc))
    return RedirectResponse("/dashboard/operator", status_code=303)
