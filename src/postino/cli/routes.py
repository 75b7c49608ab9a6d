"""``postino routes``: the ordered rules that send an account's messages through its connectors.

Connectors are named here and stored by id, so renaming stays possible and a removed
connector cannot be left behind in a route (removing one a route names is refused).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from .common import DataDir, DbUrl, console, run_for_account
from .connectors import Email, Json, bad_setting, emit, read_for_account, run_checked

app = typer.Typer(help="Routes of an account: which connectors take which messages, in order.", no_args_is_help=True)


def parse_targets(spec: str) -> list[tuple[str, int]]:
    """``a:3,b`` → ``[("a", 3), ("b", 1)]``; a weight is a share of the route's traffic."""
    found = []
    for item in spec.split(","):
        name, _, weight = item.strip().partition(":")
        if not name:
            raise bad_setting("name connectors as NAME[:WEIGHT][,NAME[:WEIGHT]…]", "connectors")
        try:
            found.append((name, int(weight) if weight else 1))
        except ValueError:
            raise bad_setting(f"the weight of {name} is a whole number", "connectors") from None
    return found


@app.command("add")
def routes_add(
    email: str = Email,
    channel: str = typer.Option(..., "--channel", help="sms or whatsapp (rcs once there are RCS connectors)."),
    connectors_spec: str = typer.Option(
        ..., "--connectors", help="NAME[:WEIGHT][,NAME[:WEIGHT]…]: the connectors and their share of the traffic."
    ),
    prefix: Optional[str] = typer.Option(None, "--prefix", help="Only recipients starting so, e.g. +39,62."),
    otp: bool = typer.Option(False, "--otp", help="Only messages flagged OTP / urgent."),
    slot: Optional[int] = typer.Option(None, "--slot", help="Serve SmsGateway24 sim N of the account (1-5)."),
    position: Optional[int] = typer.Option(None, "--position", help="1 = tried first; the routes from there move down."),
    fallback: Optional[str] = typer.Option(None, "--fallback", help="Channel to send a failed message again on."),
    fallback_after: Optional[int] = typer.Option(
        None, "--fallback-after", min=1, max=2**31 - 1, help="Also fall back when not delivered within this many seconds."
    ),
    as_json: bool = Json,
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Add a route to an account (last, unless --position says where)."""
    from ..core.routing import routes
    from ..native_api.connectors import names_of, targets_of

    wanted = parse_targets(connectors_spec)
    if fallback_after is not None and fallback is None:
        raise bad_setting("--fallback-after needs --fallback", "fallback_after")
    prefixes = [p for p in (prefix or "").split(",") if p.strip()]

    async def work(unit: Any, account_id: int) -> dict[str, Any]:
        targets = await targets_of(unit, account_id, list(wanted))
        route = await routes.add(
            unit, account_id, channel=channel, targets=targets, prefixes=prefixes, otp=otp, slot=slot,
            position=position, fallback_channel=fallback, fallback_after=fallback_after,
        )  # fmt: skip
        return route.public(await names_of(unit, account_id))

    added = run_checked(data_dir, database_url, email, work)
    if as_json:
        emit(added)
        return
    console.print(f"route {added['id']} added at position {added['position']}: {_summary(added)}", markup=False)


def _targets(route: dict[str, Any]) -> str:
    return ", ".join(f"{t['name'] or t['id']}:{t['weight']}" for t in route["connectors"])


def _summary(route: dict[str, Any]) -> str:
    where = ",".join(route["prefixes"]) or "any number"
    flags = " otp" if route["otp"] else ""
    return f"{route['channel']} to {where}{flags} via {_targets(route)}"


def _fallback(route: dict[str, Any]) -> str:
    fb = route["fallback"]
    if not fb:
        return ""
    return fb["channel"] + (f" after {fb['after_seconds']}s" if fb["after_seconds"] else "")


@app.command("list")
def routes_list(
    email: str = Email,
    as_json: bool = Json,
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """List an account's routes in the order they are tried."""
    from ..core.routing import routes
    from ..native_api.connectors import names_of

    async def work(unit: Any, account_id: int) -> list[dict[str, Any]]:
        names = await names_of(unit, account_id)
        return [r.public(names) for r in await routes.list_for(unit, account_id)]

    rows = read_for_account(data_dir, database_url, email, work)
    if as_json:
        emit(rows)
        return
    table = Table(title=f"routes of {email}")
    for col in ("pos", "id", "channel", "prefixes", "otp", "slot", "connectors", "fallback"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["position"]), str(r["id"]), r["channel"], ",".join(r["prefixes"]) or "any",
            "yes" if r["otp"] else "", "" if r["slot"] is None else str(r["slot"]), _targets(r), _fallback(r),
        )  # fmt: skip
    console.print(table)


@app.command("remove")
def routes_remove(
    route_id: int = typer.Argument(..., help="The route's id (routes list shows it)."),
    email: str = Email,
    as_json: bool = Json,
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Remove a route; the ones after it move up."""
    from ..core.errors import NotFound
    from ..core.routing import routes
    from ..http import fits_int64

    async def work(unit: Any, account_id: int) -> None:
        if not fits_int64(route_id):  # no id column holds it
            raise NotFound("Route not found")
        await routes.remove(unit, account_id, route_id)

    run_for_account(data_dir, database_url, email, work)
    if as_json:
        emit({"id": route_id, "removed": True})
        return
    console.print(f"route {route_id} removed")
