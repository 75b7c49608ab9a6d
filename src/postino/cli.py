"""The ``postino`` command. Its options are a contract used by operators and tests."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from .settings import Settings

app = typer.Typer(help="Postino: a self-hosted SMS / WhatsApp / RCS gateway.", no_args_is_help=True)
accounts_app = typer.Typer(help="Manage accounts, their credentials and credit.", no_args_is_help=True)
device_app = typer.Typer(help="Phones: run a simulated phone.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
app.add_typer(device_app, name="device")

console = Console()
err = Console(stderr=True)

DataDir = typer.Option(None, "--data-dir", help="Data folder (env POSTINO_DATA_DIR, default ./postino-data).")
DbUrl = typer.Option(None, "--database-url", help="Database URL (env POSTINO_DATABASE_URL; default SQLite in the data dir).")


def make_settings(data_dir: Optional[Path] = None, database_url: Optional[str] = None, **overrides: object) -> Settings:
    """Environment first, then any flag that was given."""
    settings = Settings()
    updates = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        updates["data_dir"] = data_dir
    if database_url is not None:
        updates["database_url"] = database_url
    return settings.model_copy(update=updates)


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


@app.command()
def serve(
    host: Optional[str] = typer.Option(None, help="Address to listen on (default 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, help="Port (default 8000)."),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
    demo: bool = typer.Option(False, "--demo", help="Create the demo account and run a simulated phone."),
    sandbox: bool = typer.Option(False, "--sandbox", help="Enable the NusaSMS sandbox key DEV_TESTING_API_KEY."),
    tls_cert: Optional[Path] = typer.Option(None, "--tls-cert", help="PEM certificate: serve https."),
    tls_key: Optional[Path] = typer.Option(None, "--tls-key", help="PEM private key for --tls-cert."),
    role: Optional[str] = typer.Option(None, help="all (default), api (HTTP only) or worker (background jobs only)."),
    lease_seconds: Optional[int] = typer.Option(None, "--lease-seconds", help="Lease of a handed-out message."),
    allow_private_urls: Optional[bool] = typer.Option(
        None, "--allow-private-urls/--no-allow-private-urls", help="Allow callbacks/media to private addresses."
    ),
    public_url: Optional[str] = typer.Option(None, "--public-url", help="Base URL phones and media links use."),
) -> None:
    """Run the gateway: HTTP APIs, device API and the background worker."""
    import uvicorn

    from .server import build_app

    if role is not None and role not in ("all", "api", "worker"):
        _fail("--role must be all, api or worker")
    if (tls_cert is None) != (tls_key is None):
        _fail("--tls-cert and --tls-key go together")
    settings = make_settings(
        data_dir,
        database_url,
        host=host,
        port=port,
        demo=demo or None,
        sandbox=sandbox or None,
        tls_cert=tls_cert,
        tls_key=tls_key,
        role=role,
        lease_seconds=lease_seconds,
        allow_private_urls=allow_private_urls,
        public_url=public_url,
    )
    application = build_app(settings)
    config = uvicorn.Config(
        application,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        ssl_certfile=str(settings.tls_cert) if settings.tls_cert else None,
        ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
        access_log=False,
        timeout_keep_alive=30,
        proxy_headers=True,
    )
    uvicorn.Server(config).run()


@app.command()
def migrate(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Apply database migrations (``serve`` also does this at start)."""
    from .core.service import Core
    from .db.migrate import upgrade

    settings = make_settings(data_dir, database_url)
    settings.ensure_dirs()

    async def _run() -> None:
        core = Core(settings)
        try:
            await upgrade(core.db)
        finally:
            await core.db.dispose()

    asyncio.run(_run())
    console.print("database is up to date")


def _decimal(value: Optional[str], name: str) -> Optional[Decimal]:
    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        _fail(f"{name} must be a number")
    if amount < 0:
        _fail(f"{name} must not be negative")
    return amount


@accounts_app.command("create")
def accounts_create(
    email: str = typer.Option(..., "--email"),
    password: str = typer.Option(..., "--password"),
    credit: Optional[str] = typer.Option(None, "--credit", help="Initial SMS credit."),
    wa_credit: Optional[str] = typer.Option(None, "--wa-credit", help="Initial WhatsApp credit."),
    country: str = typer.Option("US", "--country", help="Default country for numbers without +."),
    tz: str = typer.Option("UTC", "--timezone", help="IANA time zone of the account."),
    enforce_credit: bool = typer.Option(False, "--enforce-credit", help="Refuse messages without credit."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object with the new credentials."),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Create an account with one credential of each kind (secrets are shown only now)."""
    from .core import accounts, billing, credentials
    from .core.errors import DomainError
    from .core.service import Core
    from .db.migrate import upgrade

    sms = _decimal(credit, "--credit")
    wa = _decimal(wa_credit, "--wa-credit")
    settings = make_settings(data_dir, database_url)
    settings.ensure_dirs()

    async def _run() -> dict:
        core = Core(settings)
        try:
            await upgrade(core.db)
            async with core.unit() as unit:
                account = await accounts.create(
                    unit,
                    email=email,
                    password=password,
                    timezone=tz,
                    country=country,
                    credit_enforced=enforce_credit,
                )
                if sms:
                    await billing.top_up(unit, account.id, "sms", sms)
                if wa:
                    await billing.top_up(unit, account.id, "wa", wa)
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
        finally:
            await core.db.dispose()

    try:
        result = asyncio.run(_run())
    except DomainError as exc:
        _fail(exc.message)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    table = Table(title=f"account {result['id']} created (secrets are shown only once)")
    table.add_column("what")
    table.add_column("value")
    for key, value in result.items():
        table.add_row(key, str(value))
    console.print(table)


@accounts_app.command("list")
def accounts_list(
    as_json: bool = typer.Option(False, "--json"),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """List accounts with their balances."""
    from .core import accounts, billing
    from .core.service import Core
    from .db.migrate import upgrade

    settings = make_settings(data_dir, database_url)
    settings.ensure_dirs()

    async def _run() -> list[dict]:
        core = Core(settings)
        try:
            await upgrade(core.db)
            async with core.reader() as unit:
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
        finally:
            await core.db.dispose()

    rows = asyncio.run(_run())
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


@accounts_app.command("topup")
def accounts_topup(
    email: str = typer.Option(..., "--email"),
    product: str = typer.Option(..., "--product", help="sms, wa, hlr, sim or pulsa."),
    amount: str = typer.Option(..., "--amount"),
    expires: Optional[str] = typer.Option(None, "--expires", help="YYYY-MM-DD: the balance expires then."),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Add credit to an account (a ledger row)."""
    from .core import accounts, billing
    from .core.errors import DomainError
    from .core.service import Core
    from .db.migrate import upgrade

    value = _decimal(amount, "--amount")
    expires_at = None
    if expires:
        try:
            expires_at = datetime.strptime(expires, "%Y-%m-%d").replace(tzinfo=timezone.utc)
        except ValueError:
            _fail("--expires must be YYYY-MM-DD")
    settings = make_settings(data_dir, database_url)
    settings.ensure_dirs()

    async def _run() -> str:
        core = Core(settings)
        try:
            await upgrade(core.db)
            async with core.unit() as unit:
                account = await accounts.find_by_email(unit, email)
                if account is None:
                    raise typer.BadParameter(f"no account {email}")
                bal = await billing.top_up(unit, account.id, product, value, expires_at=expires_at)
                return str(bal.amount)
        finally:
            await core.db.dispose()

    try:
        new_balance = asyncio.run(_run())
    except DomainError as exc:
        _fail(exc.message)
    except typer.BadParameter as exc:
        _fail(str(exc))
    console.print(f"{product} balance of {email}: {new_balance}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
