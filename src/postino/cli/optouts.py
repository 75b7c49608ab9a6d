"""``postino optouts``: the numbers an account may not message, their history, the account's policy."""

from __future__ import annotations

import csv
import getpass
import json
import sys
from pathlib import Path
from typing import Optional, TextIO

import typer
from rich.table import Table

from .common import DataDir, DbUrl, console, fail, run_for_account

app = typer.Typer(help="Opt-outs of an account: list, add, remove, export, settings.", no_args_is_help=True)

COLUMNS = ("phone", "at", "channel", "source", "keyword", "message_id", "actor")
HISTORY = ("id", "phone", "action", "at", "channel", "source", "keyword", "message_id", "actor")


def _actor() -> str:
    """Who changed the list from the command line: the operator's login."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@app.command("list")
def optouts_list(
    email: str = typer.Option(..., "--email"),
    search: Optional[str] = typer.Option(None, "--search", help="Digits the number contains."),
    limit: int = typer.Option(1000, "--limit", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json"),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Numbers on the account's opt-out list, in number order."""
    from ..core.contacts import optouts

    async def work(unit, account_id: int) -> list[dict]:  # noqa: ANN001
        found, _next = await optouts.page(unit, account_id, q=search, limit=limit)
        return [o.public() for o in found]

    rows = run_for_account(data_dir, database_url, email, work)
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    table = Table(title=f"opt-outs of {email}")
    for col in COLUMNS:
        table.add_column(col)
    for r in rows:
        table.add_row(*("" if r[c] is None else str(r[c]) for c in COLUMNS))
    console.print(table)


@app.command("add")
def optouts_add(
    phone: str = typer.Argument(...),
    email: str = typer.Option(..., "--email"),
    as_json: bool = typer.Option(False, "--json"),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Opt a number out (campaigns skip it from now on)."""
    from ..core.accounts import accounts
    from ..core.contacts import optouts

    async def work(unit, account_id: int) -> dict:  # noqa: ANN001
        e164, changed = await optouts.add(unit, await accounts.get(unit, account_id), phone, actor=_actor())
        return {"phone": e164, "changed": changed}

    result = run_for_account(data_dir, database_url, email, work)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    console.print(f"{result['phone']} opted out" if result["changed"] else f"{result['phone']} was opted out already")


@app.command("remove")
def optouts_remove(
    phone: str = typer.Argument(...),
    email: str = typer.Option(..., "--email"),
    as_json: bool = typer.Option(False, "--json"),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Take a number off the list (it may be messaged again)."""
    from ..core.accounts import accounts
    from ..core.contacts import optouts

    async def work(unit, account_id: int) -> dict:  # noqa: ANN001
        e164, changed = await optouts.remove(unit, await accounts.get(unit, account_id), phone, actor=_actor())
        return {"phone": e164, "changed": changed}

    result = run_for_account(data_dir, database_url, email, work)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    console.print(f"{result['phone']} opted in again" if result["changed"] else f"{result['phone']} was not opted out")


@app.command("export")
def optouts_export(
    email: str = typer.Option(..., "--email"),
    out: Optional[Path] = typer.Option(None, "--out", help="File to write; default stdout."),
    history: bool = typer.Option(False, "--history", help="Every change (who, when, keyword or operator) instead of the list."),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """The list (or its history) as CSV."""
    from ..core.contacts import optouts

    target: TextIO = open(out, "w", encoding="utf-8", newline="") if out else sys.stdout  # noqa: SIM115
    writer = csv.writer(target)

    async def work(unit, account_id: int) -> int:  # noqa: ANN001
        written = 0
        if history:
            writer.writerow(HISTORY)
            after = 0
            while True:
                rows = await optouts.history(unit, account_id, after=after, limit=5000)
                if not rows:
                    return written
                writer.writerows([["" if r[c] is None else r[c] for c in HISTORY] for r in rows])
                written += len(rows)
                after = rows[-1]["id"]
        writer.writerow(COLUMNS)
        cursor: str | None = ""
        while cursor is not None:
            found, cursor = await optouts.page(unit, account_id, after=cursor, limit=1000)
            writer.writerows([["" if v is None else v for v in (o.public()[c] for c in COLUMNS)] for o in found])
            written += len(found)
        return written

    try:
        written = run_for_account(data_dir, database_url, email, work)
    finally:
        if out:
            target.close()
    if out:
        console.print(f"{written} rows written to {out}")


@app.command("settings")
def optouts_settings(
    email: str = typer.Option(..., "--email"),
    policy: Optional[str] = typer.Option(None, "--policy", help="campaigns (single sends still go) or all (refused)."),
    reply: list[str] = typer.Option([], "--reply", help="KEYWORD=TEXT (any-stop=TEXT / any-start=TEXT: every stop / start keyword); KEYWORD= removes it."),
    as_json: bool = typer.Option(False, "--json"),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Show or change the opt-out policy of single sends and the keywords' auto-replies."""
    from ..core.contacts import optouts

    replies: dict[str, str | None] = {}
    for item in reply:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            fail(f"--reply is KEYWORD=TEXT (got {item!r})")
        replies[key.strip()] = text or None

    async def work(unit, account_id: int) -> dict:  # noqa: ANN001
        account = await optouts.configure(unit, account_id, policy_name=policy, replies=replies or None)
        return optouts.settings_of(account)

    result = run_for_account(data_dir, database_url, email, work)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    console.print(f"optout_policy: {result['optout_policy']}")
    for key, text in sorted(result["replies"].items()):
        console.print(f"reply to {key}: {text}")
