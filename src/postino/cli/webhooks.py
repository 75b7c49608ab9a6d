"""``postino webhooks``: an account's webhooks and their delivery log."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .common import DataDir, DbUrl, console, run_for_account

app = typer.Typer(help="Webhooks of an account and their delivery log.", no_args_is_help=True)


@app.command("add")
def webhooks_add(
    email: str = typer.Option(..., "--email"),
    url: str = typer.Option(..., "--url", help="Where to POST the events (public http(s) unless private URLs are allowed)."),
    events: str = typer.Option(..., "--events", help="Comma-separated, e.g. message.delivered,message.failed."),
    secret: Optional[str] = typer.Option(None, "--secret", help="HMAC key (16-200 characters); generated when omitted."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object, the secret included."),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Add a webhook to an account (its secret is shown only now)."""
    from ..core.events import webhooks

    async def work(unit, account_id: int) -> dict:  # noqa: ANN001
        hook = await webhooks.create(unit, account_id, url=url, events=events.split(","), secret=secret)
        return {**hook.public(), "secret": hook.secret}

    result = run_for_account(data_dir, database_url, email, work)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    console.print(f"webhook {result['id']} added: {result['url']} ({', '.join(result['events'])})")
    console.print(f"secret (shown only once): {result['secret']}")


@app.command("list")
def webhooks_list(
    email: str = typer.Option(..., "--email"),
    as_json: bool = typer.Option(False, "--json"),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """List an account's webhooks."""
    from ..core.events import webhooks

    async def work(unit, account_id: int) -> list[dict]:  # noqa: ANN001
        return [h.public() for h in await webhooks.list_for(unit, account_id)]

    rows = run_for_account(data_dir, database_url, email, work)
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    table = Table(title=f"webhooks of {email}")
    for col in ("id", "url", "events", "secret", "created"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["id"]), r["url"], ", ".join(r["events"]), "…" + r["secret_hint"], r["created_at"])
    console.print(table)


@app.command("remove")
def webhooks_remove(
    email: str = typer.Option(..., "--email"),
    webhook_id: int = typer.Option(..., "--id"),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Remove a webhook; its deliveries still pending are canceled."""
    from ..core.events import webhooks

    async def work(unit, account_id: int) -> None:  # noqa: ANN001
        await webhooks.remove(unit, account_id, webhook_id)

    run_for_account(data_dir, database_url, email, work)
    console.print(f"webhook {webhook_id} removed")


@app.command("log")
def webhooks_log(
    email: str = typer.Option(..., "--email"),
    limit: int = typer.Option(20, "--limit", min=1, max=500),
    as_json: bool = typer.Option(False, "--json"),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """The newest outgoing webhooks and callbacks of an account, with every attempt."""
    from ..core.events import webhooks

    async def work(unit, account_id: int) -> list[dict]:  # noqa: ANN001
        return await webhooks.deliveries(unit, account_id, limit=limit)

    rows = run_for_account(data_dir, database_url, email, work)
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    table = Table(title=f"deliveries of {email}")
    for col in ("id", "event", "webhook", "state", "attempts", "last answer", "created"):
        table.add_column(col)
    for r in rows:
        last = r["log"][-1] if r["log"] else None
        answer = "" if last is None else (str(last["status_code"]) if last["status_code"] else (last["error"] or ""))
        table.add_row(
            str(r["id"]), r["event"], str(r["webhook_id"] or "callback"), r["state"], str(r["attempts"]), answer,
            r["created_at"],
        )
    console.print(table)
