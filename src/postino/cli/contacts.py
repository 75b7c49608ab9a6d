"""``postino contacts``: import an address book into a list, export a list, see the lists."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional, TextIO

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .common import DataDir, DbUrl, console, err, fail, run_for_account

app = typer.Typer(help="Contact lists of an account: import, export, list.", no_args_is_help=True)


class _Rejected(Exception):
    """Carries a refused import's report out of the transaction (which it rolls back)."""

    def __init__(self, report: dict[str, Any]) -> None:
        super().__init__("import rejected")
        self.report = report


def _progress(total: int | None, quiet: bool) -> tuple[Progress | None, Callable[[int], None] | None]:
    """A bar on stderr when it is a terminal (``--json`` or a pipe get none)."""
    if quiet or not err.is_terminal:
        return None, None
    bar = Progress(
        TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TextColumn("rows"), TimeRemainingColumn(),
        console=err, transient=False,
    )  # fmt: skip
    task = bar.add_task("rows", total=total)
    return bar, lambda done: bar.update(task, completed=done)


def _print_report(report: dict[str, Any], list_name: str, *, rejected: bool) -> None:
    if rejected:
        console.print(f"[red]nothing imported[/red]: {report['bad_count']} bad rows of {report['total']} "
                      "(--skip-bad imports the good ones)")  # fmt: skip
    else:
        console.print(f"list {list_name!r} (id {report['list_id']}): {report['imported']} imported, "
                      f"{report['updated']} updated, {report['bad_count']} bad rows of {report['total']}")  # fmt: skip
    if report["bad"]:
        table = Table(title="bad rows")
        table.add_column("line", justify="right")
        table.add_column("reason")
        for bad in report["bad"]:
            table.add_row(str(bad["line"]), bad["reason"])
        console.print(table)


@app.command("import")
def contacts_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV (any delimiter, UTF-8 or Windows-1252) or XLSX."),
    list_name: str = typer.Option(..., "--list", help="The list to import into (created if the account has none of that name)."),
    email: str = typer.Option(..., "--email"),
    mapping: Optional[str] = typer.Option(None, "--map", help="Columns by name, e.g. phone=Telefono,name=Nome (else found by common names)."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Import the good rows even if some are bad (else nothing is imported)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Import contacts from a CSV or XLSX file; bad rows are reported by line and reason."""
    from ..core.accounts import accounts
    from ..core.contacts import imports, lists, sheets
    from ..core.errors import DomainError

    try:
        sheet = sheets.read(file.read_bytes())
        columns = imports.parse_mapping(mapping)
    except DomainError as exc:
        fail(exc.message)
    bar, tick = _progress(sheet.total, as_json)

    async def work(unit, account_id: int) -> dict:  # noqa: ANN001
        account = await accounts.get(unit, account_id)
        tag = await lists.create_tag(unit, account_id, list_name)
        try:
            report = await imports.import_sheet(unit, account, tag.id, sheet, mapping=columns, skip_bad=skip_bad, progress=tick)
        except imports.ImportRejected as exc:
            raise _Rejected(exc.report.public()) from None
        return report.public()

    try:
        if bar is not None:
            with bar:
                result = run_for_account(data_dir, database_url, email, work)
        else:
            result = run_for_account(data_dir, database_url, email, work)
    except _Rejected as rejected:
        if as_json:
            sys.stdout.write(json.dumps(rejected.report) + "\n")
        else:
            _print_report(rejected.report, list_name, rejected=True)
        raise typer.Exit(1) from None
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        _print_report(result, list_name, rejected=False)


def write_csv(out: TextIO, fields: list[str], rows: list[Any]) -> None:
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([row.phone, row.fullname, *(_cell(row.fields.get(name)) for name in fields)])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@app.command("export")
def contacts_export(
    list_name: str = typer.Option(..., "--list"),
    email: str = typer.Option(..., "--email"),
    out: Optional[Path] = typer.Option(None, "--out", help="File to write (UTF-8 with a BOM, which Excel reads); default stdout."),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Write a list as CSV: phone, name, then one column per custom field."""
    from ..core.contacts import contacts, lists
    from ..core.errors import NotFound

    target: TextIO = open(out, "w", encoding="utf-8-sig", newline="") if out else sys.stdout  # noqa: SIM115

    async def work(unit, account_id: int) -> int:  # noqa: ANN001
        tag = await lists.find_tag_by_title(unit, account_id, list_name)
        if tag is None:
            raise NotFound(f"no list named {list_name!r}")
        fields: set[str] = set()
        after: int | None = 0
        while after is not None:
            page, after = await contacts.page(unit, account_id, list_id=tag.id, after=after, limit=1000)
            for row in page:
                fields.update(row.fields)
        names = sorted(fields)
        csv.writer(target).writerow(["phone", "name", *names])
        written = 0
        after = 0
        while after is not None:
            page, after = await contacts.page(unit, account_id, list_id=tag.id, after=after, limit=1000)
            write_csv(target, names, page)
            written += len(page)
        return written

    try:
        written = run_for_account(data_dir, database_url, email, work)
    finally:
        if out:
            target.close()
    if out:
        console.print(f"{written} contacts of {list_name!r} written to {out}")


@app.command("lists")
def contacts_lists(
    email: str = typer.Option(..., "--email"),
    as_json: bool = typer.Option(False, "--json"),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """The account's lists with how many contacts each holds."""
    from ..core.contacts import lists

    async def work(unit, account_id: int) -> list[dict]:  # noqa: ANN001
        found: list[dict] = []
        after: int | None = 0
        while after is not None:
            page, after = await lists.page(unit, account_id, after=after, limit=1000)
            found.extend(item.public() for item in page)
        return found

    rows = run_for_account(data_dir, database_url, email, work)
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    table = Table(title=f"lists of {email}")
    for col in ("id", "title", "contacts", "created"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["id"]), r["title"], str(r["contacts"]), r["created_at"] or "")
    console.print(table)
