"""``postino connectors``: an account's carrier connectors (SMPP, the WhatsApp Cloud API).

``add`` takes the kind as its first argument; every option of every kind is declared
here once, grouped by kind in ``--help``, and what was given is handed to the kind's
``parse`` as one dict (``native_api.connectors.kind_settings``), so a new kind is its
options plus a line in ``SETTINGS``. A wrong setting exits 2 naming its option; a
refusal of the account's state (a name taken, a connector still in use) exits 1.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Optional, TypeVar

import typer
from rich.table import Table

from .common import DataDir, DbUrl, console, fail, make_settings, run_core, run_for_account

T = TypeVar("T")

app = typer.Typer(help="Carrier connectors of an account: add, list, show, remove, test.", no_args_is_help=True)

Email = typer.Option(..., "--email", help="The account's email.")
Json = typer.Option(False, "--json", help="Print one JSON object (or list) on stdout.")


class BadSetting(Exception):
    """A setting was refused; carried past ``run_core`` (which exits 1) to exit 2 instead."""

    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def bad_setting(message: str, field: str | None) -> typer.BadParameter:
    """Exit 2, naming the option of ``field`` (``system_id`` → ``--system-id``, ``connectors.0.name`` → ``--connectors``)."""
    hint = f"'--{field.split('.')[0].replace('_', '-')}'" if field else None
    return typer.BadParameter(message, param_hint=hint)


def run_checked(
    data_dir: Optional[Path], database_url: Optional[str], email: str, work: Callable[[Any, int], Awaitable[T]]
) -> T:
    """``run_for_account``, but a refused setting (``InvalidInput``) exits 2 with its option named."""
    from ..core.errors import InvalidInput

    async def checked(unit: Any, account_id: int) -> T:
        try:
            return await work(unit, account_id)
        except InvalidInput as exc:
            raise BadSetting(exc.message, exc.field) from None

    try:
        return run_for_account(data_dir, database_url, email, checked)
    except BadSetting as exc:
        raise bad_setting(exc.message, exc.field) from None


def read_for_account(
    data_dir: Optional[Path], database_url: Optional[str], email: str, work: Callable[[Any, int], Awaitable[T]]
) -> T:
    """Run ``work(unit, account_id)`` in a read-only unit: showing takes no write lock."""
    from ..core.accounts import accounts

    async def _work(unit: Any) -> T:
        account = await accounts.find_by_email(unit, email)
        if account is None:
            raise typer.BadParameter(f"no account {email}")
        return await work(unit, account.id)

    return run_core(make_settings(data_dir, database_url), _work, write=False)


def emit(value: Any) -> None:
    sys.stdout.write(json.dumps(value) + "\n")


@app.command("add")
def connectors_add(
    kind: str = typer.Argument(
        ..., help="Kind of connector: smpp or whatsapp_cloud. An unknown kind is refused with the known ones."
    ),
    email: str = Email,
    name: str = typer.Option(..., "--name", help="How routes name it: letters, digits, '-', '_', '.'."),
    host: Optional[str] = typer.Option(None, "--host", help="The SMSC's host name or address.", rich_help_panel="smpp"),
    port: Optional[int] = typer.Option(None, "--port", help="The SMSC's TCP port.", rich_help_panel="smpp"),
    system_id: Optional[str] = typer.Option(None, "--system-id", help="Bind system_id.", rich_help_panel="smpp"),
    password: Optional[str] = typer.Option(
        None, "--password",
        help="Bind password (up to 8 characters). Stored encrypted with the server key; never printed or logged.",
        rich_help_panel="smpp",
    ),  # fmt: skip
    system_type: Optional[str] = typer.Option(None, "--system-type", help="Bind system_type.", rich_help_panel="smpp"),
    window: Optional[int] = typer.Option(
        None, "--window", help="Outstanding submit_sm (requests, for whatsapp_cloud) at once (default 10)."
    ),
    tps: Optional[int] = typer.Option(
        None, "--tps", help="Messages per second at most (smpp default: as fast as the window allows; whatsapp_cloud: 80)."
    ),
    tls: bool = typer.Option(False, "--tls", help="Connect over TLS.", rich_help_panel="smpp"),
    source_ton: Optional[int] = typer.Option(
        None, "--source-ton", help="TON of every sender (default: from its form).", rich_help_panel="smpp"
    ),
    source_npi: Optional[int] = typer.Option(
        None, "--source-npi", help="NPI of every sender (default: from its form).", rich_help_panel="smpp"
    ),
    default_sender: Optional[str] = typer.Option(
        None, "--default-sender", help="Sender of messages that name none.", rich_help_panel="smpp"
    ),
    max_queue: Optional[int] = typer.Option(
        None, "--max-queue", help="Routing skips it while more than this many messages wait for it."
    ),
    phone_number_id: Optional[str] = typer.Option(
        None, "--phone-number-id", help="The Cloud API's id of the business phone number.", rich_help_panel="whatsapp_cloud"
    ),
    display_number: Optional[str] = typer.Option(
        None, "--display-number", help="The business number itself (+62…): shown as the sender, matched by NusaSMS 'sender'.",
        rich_help_panel="whatsapp_cloud",
    ),  # fmt: skip
    token: Optional[str] = typer.Option(
        None, "--token", help="The system user's access token. Stored encrypted; never printed or logged.",
        rich_help_panel="whatsapp_cloud",
    ),  # fmt: skip
    app_secret: Optional[str] = typer.Option(
        None, "--app-secret", help="The Meta app's secret: checks the webhook signatures. Stored encrypted.",
        rich_help_panel="whatsapp_cloud",
    ),  # fmt: skip
    verify_token: Optional[str] = typer.Option(
        None, "--verify-token", help="What the webhook set-up handshake must present. Stored encrypted.",
        rich_help_panel="whatsapp_cloud",
    ),  # fmt: skip
    base_url: Optional[str] = typer.Option(
        None, "--base-url", help="The Graph API's address (default https://graph.facebook.com).",
        rich_help_panel="whatsapp_cloud",
    ),  # fmt: skip
    api_version: Optional[str] = typer.Option(
        None, "--api-version", help="Graph API version (default v21.0).", rich_help_panel="whatsapp_cloud"
    ),
    as_json: bool = Json,
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Add a connector to an account; routes then send through it by its name."""
    from ..core.errors import InvalidInput
    from ..core.routing import connectors
    from ..native_api.connectors import kind_settings

    given: dict[str, Any] = {
        "host": host, "port": port, "system_id": system_id, "password": password, "system_type": system_type,
        "window": window, "tps": tps, "tls": tls or None, "source_ton": source_ton, "source_npi": source_npi,
        "default_sender": default_sender, "max_queue": max_queue, "phone_number_id": phone_number_id,
        "display_number": display_number, "token": token, "app_secret": app_secret, "verify_token": verify_token,
        "base_url": base_url, "api_version": api_version,
    }  # fmt: skip
    try:
        config, secrets = kind_settings(kind, {k: v for k, v in given.items() if v is not None})
    except InvalidInput as exc:
        if exc.field == "kind":
            raise typer.BadParameter(exc.message, param_hint="'KIND'") from None
        raise bad_setting(exc.message, exc.field) from None

    async def work(unit: Any, account_id: int) -> Any:
        return await connectors.add(unit, account_id, name=name, kind=kind, config=config, secrets=secrets)

    record = run_checked(data_dir, database_url, email, work)
    if as_json:
        emit(record.public())
        return
    console.print(f"connector {record.id} added: {record.name} ({kind} {where(record)})", markup=False)


def where(record: Any) -> str:
    """The kind's one line for a record (``postino@smsc.example.net:2775 tls``)."""
    from ..connectors.kinds import KINDS

    kind = KINDS.get(record.kind)
    return kind.describe(record) if kind is not None and kind.describe else ""


@app.command("list")
def connectors_list(
    email: str = Email,
    as_json: bool = Json,
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """List an account's connectors and the state each last reported."""
    from ..core.routing import connectors

    async def work(unit: Any, account_id: int) -> list[Any]:
        return await connectors.list_for(unit, account_id)

    records = read_for_account(data_dir, database_url, email, work)
    if as_json:
        emit([r.public() for r in records])
        return
    table = Table(title=f"connectors of {email}")
    for col in ("id", "name", "kind", "where", "state", "up", "queued"):
        table.add_column(col)
    for r in records:
        state = r.state + (f" ({r.state_detail})" if r.state_detail else "")
        table.add_row(str(r.id), r.name, r.kind, where(r), state, "yes" if r.up() else "no", str(r.queue_depth))
    console.print(table)


@app.command("show")
def connectors_show(
    name: str = typer.Argument(..., help="The connector's name."),
    email: str = Email,
    as_json: bool = Json,
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """One connector: its settings (never its secrets) and its live state."""
    from ..core.routing import connectors
    from ..native_api.connectors import live

    async def work(unit: Any, account_id: int) -> Any:
        return await connectors.by_name(unit, account_id, name)

    record = read_for_account(data_dir, database_url, email, work)
    shown = live(record, make_settings(data_dir, database_url).resolved_public_url())
    if as_json:
        emit(shown)
        return
    console.print(f"connector {record.id}: {record.name} ({record.kind} {where(record)})", markup=False)
    for key, value in shown.items():
        if key not in ("id", "name", "kind") and value is not None:
            console.print(f"  {key}: {value}", markup=False)


@app.command("remove")
def connectors_remove(
    name: str = typer.Argument(..., help="The connector's name."),
    email: str = Email,
    as_json: bool = Json,
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Remove a connector; refused while a route names it or messages wait for it."""
    from ..core.routing import connectors

    async def work(unit: Any, account_id: int) -> int:
        record = await connectors.by_name(unit, account_id, name)
        await connectors.remove(unit, account_id, record.id)
        return record.id

    removed = run_for_account(data_dir, database_url, email, work)
    if as_json:
        emit({"id": removed, "name": name, "removed": True})
        return
    console.print(f"connector {removed} ({name}) removed")


@app.command("test")
def connectors_test(
    name: str = typer.Argument(..., help="The connector's name."),
    email: str = Email,
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, max=120, help="Seconds to wait for the bind."),
    as_json: bool = Json,
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Bind once with the stored settings, then unbind: exit 0 when bound, 1 with the reason otherwise.

    Loopback and private SMSC addresses are reached only when the operator allows them
    (POSTINO_ALLOW_PRIVATE_URLS or POSTINO_ALLOWED_PRIVATE_NETWORKS), as for the server.
    """
    from ..core.routing import connectors
    from ..dispatch.connectors import probe
    from ..wiring import new_core

    async def work(unit: Any, account_id: int) -> Any:
        return await connectors.by_name(unit, account_id, name)

    settings = make_settings(data_dir, database_url)
    record = read_for_account(data_dir, database_url, email, work)

    async def attempt() -> tuple[bool, str]:
        core = new_core(settings)  # no transaction stays open while the SMSC is awaited
        try:
            return await probe(core, record, timeout=timeout)
        finally:
            await core.db.dispose()

    bound, detail = asyncio.run(attempt())
    if as_json:
        emit({"id": record.id, "name": record.name, "bound": bound, "detail": detail})
        if not bound:
            raise typer.Exit(1)
        return
    if not bound:
        fail(f"connector {name} did not bind: {detail}")
    console.print(f"connector {name} bound ({where(record)})", markup=False)
