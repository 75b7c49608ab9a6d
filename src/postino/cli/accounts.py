"""``postino accounts``: create accounts, list them, add credit."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .common import DataDir, DbUrl, console, fail, make_settings, run_core, run_for_account

app = typer.Typer(help="Manage accounts, their credentials and credit.", no_args_is_help=True)


def _decimal(value: Optional[str], name: str) -> Optional[Decimal]:
    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        fail(f"{name} must be a number")
    if amount < 0:
        fail(f"{name} must not be negative")
    return amount


@app.command("create")
def accounts_create(
    email: str = typer.Option(..., "--email"),
    password: str = typer.Option(..., "--password"),
    credit: Optional[str] = typer.Option(None, "--credit", help="Initial SMS credit."),
    wa_credit: Optional[str] = typer.Option(None, "--wa-credit", help="Initial WhatsApp credit."),
    country: str = typer.Option("US", "--country", help="Default country for numbers without +."),
    tz: str = typer.Option("UTC", "--timezone", help="IANA time zone of the account."),
    enforce_credit: bool = typer.Option(False, "--enforce-credit", help="Refuse messages without credit."),
    operator: bool = typer.Option(
        False, "--operator", help="An operator: its dashboard shows every account, connectors and routes, and tops up."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object with the new credentials."),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Create an account with one credential of each kind (secrets are shown only now)."""
    from ..core.accounts import accounts, billing, credentials, operators

    sms = _decimal(credit, "--credit")
    wa = _decimal(wa_credit, "--wa-credit")

    async def work(unit) -> dict:  # noqa: ANN001
        account = await accounts.create(
            unit, email=email, password=password, timezone=tz, country=country, credit_enforced=enforce_credit
        )
        if sms:
            await billing.top_up(unit, account.id, "sms", sms)
        if wa:
            await billing.top_up(unit, account.id, "wa", wa)
        if operator:
            await operators.set_operator(unit, account.id)
        issued = {
            kind: (await credentials.issue(unit, account.id, kind, name="created with the account")).secret
            for kind in ("api_key", "sg24", "bearer", "device_registration")
        }
        return {
            "id": account.id,
            "email": account.email,
            "api_key": issued["api_key"],
            "sg24_token": issued["sg24"],
            "bearer_token": issued["bearer"],
            "device_registration_token": issued["device_registration"],
        }

    result = run_core(make_settings(data_dir, database_url), work)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    table = Table(title=f"account {result['id']} created (secrets are shown only once)")
    table.add_column("what")
    table.add_column("value")
    for key, value in result.items():
        table.add_row(key, str(value))
    console.print(table)


@app.command("list")
def accounts_list(
    as_json: bool = typer.Option(False, "--json"),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """List accounts with their balances."""
    from ..core.accounts import accounts, billing

    async def work(unit) -> list[dict]:  # noqa: ANN001
        out = []
        for account in await accounts.list_all(unit):
            bal = await billing.all_balances(unit, account.id)
            out.append(
                {
                    "id": account.id,
                    "email": account.email,
                    "country": account.country,
                    "timezone": account.timezone,
                    "credit_enforced": account.credit_enforced,
                    "balances": {p: str(b.amount) for p, b in bal.items()},
                }
            )
        return out

    rows = run_core(make_settings(data_dir, database_url), work, write=False)
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    table = Table(title="accounts")
    for col in ("id", "email", "country", "timezone", "enforced", "sms", "wa", "hlr"):
        table.add_column(col)
    for r in rows:
        b = r["balances"]
        table.add_row(
            str(r["id"]), r["email"], r["country"], r["timezone"], str(r["credit_enforced"]), b["sms"], b["wa"], b["hlr"]
        )
    console.print(table)


@app.command("topup")
def accounts_topup(
    email: str = typer.Option(..., "--email"),
    product: str = typer.Option(..., "--product", help="sms, wa, hlr, sim or pulsa."),
    amount: str = typer.Option(..., "--amount"),
    expires: Optional[str] = typer.Option(None, "--expires", help="YYYY-MM-DD: the balance expires then."),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Add credit to an account (a ledger row)."""
    from ..core.accounts import billing

    value = _decimal(amount, "--amount")
    expires_at = None
    if expires:
        try:
            expires_at = datetime.strptime(expires, "%Y-%m-%d").replace(tzinfo=timezone.utc)
        except ValueError:
            fail("--expires must be YYYY-MM-DD")

    async def work(unit, account_id: int) -> str:  # noqa: ANN001
        return str((await billing.top_up(unit, account_id, product, value, expires_at=expires_at)).amount)

    new_balance = run_for_account(data_dir, database_url, email, work)
    console.print(f"{product} balance of {email}: {new_balance}")
