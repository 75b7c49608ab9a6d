"""``postino campaigns``: create, list, show, pause, resume and cancel an account's campaigns."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from .common import DataDir, DbUrl, console, fail, run_for_account

app = typer.Typer(help="Campaigns (newsletters) of an account.", no_args_is_help=True)

COUNTS = ("total", "waiting", "queued", "sent", "delivered", "failed", "canceled", "opted_out", "duplicates_skipped")


def _print(campaign: dict[str, Any]) -> None:
    table = Table(title=f"campaign {campaign['id']}: {campaign['title']}", show_header=False)
    table.add_column("what")
    table.add_column("value")
    for key in ("state", "lists", "channel", "device_id", "slot", "send_at", "window", "pace", *COUNTS, "error"):
        value = campaign.get(key)
        table.add_row(key, "" if value is None else ", ".join(map(str, value)) if isinstance(value, list) else str(value))
    console.print(table)


def _at(text: Optional[str], zone: Any) -> Optional[datetime]:
    """``--at`` as an aware time: ISO 8601, in the account's time zone when it names none."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--at must be ISO 8601, e.g. 2026-05-29T09:00 (got {text!r})")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


@app.command("create")
def campaigns_create(
    email: str = typer.Option(..., "--email"),
    title: str = typer.Option(..., "--title"),
    body: str = typer.Option(..., "--body", help="The text; {{name}} and any field of the contact are filled in."),
    list_names: str = typer.Option(..., "--lists", help="List titles, comma-separated."),
    channel: str = typer.Option("sms", "--channel", help="sms, whatsapp or rcs (routed when no --device-id)."),
    device_id: Optional[int] = typer.Option(None, "--device-id", help="Send through this phone (its id)."),
    slot: int = typer.Option(0, "--slot", help="The phone's slot (SIM) to send from, with --device-id."),
    at: Optional[str] = typer.Option(None, "--at", help="Start time, ISO 8601 (account's time zone unless it names one); default now."),
    window: Optional[str] = typer.Option(None, "--window", help="Send only between these times of the account's day, e.g. 09:00-20:00."),
    pace: Optional[int] = typer.Option(None, "--pace", help="At most this many messages per minute."),
    as_json: bool = typer.Option(False, "--json"),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Create a campaign to every distinct number of the lists (opted-out numbers skipped)."""
    from ..core.accounts import accounts
    from ..core.contacts import campaigns, lists
    from ..core.errors import NotFound

    names = [n.strip() for n in list_names.split(",") if n.strip()]
    if not names:
        fail("--lists names at least one list")

    async def work(unit, account_id: int) -> dict:  # noqa: ANN001
        account = await accounts.get(unit, account_id)
        tag_ids = []
        for name in names:
            tag = await lists.find_tag_by_title(unit, account_id, name)
            if tag is None:
                raise NotFound(f"no list named {name!r}")
            tag_ids.append(tag.id)
        campaign, _woken = await campaigns.create_campaign(
            unit, account_id, title=title, body=body, tag_ids=tag_ids, device_id=device_id, slot=slot,
            send_at=_at(at, account.zone), channel=channel, window=window, pace=pace,
        )  # fmt: skip
        return campaign.public(await campaigns.counts(unit, campaign))

    result = run_for_account(data_dir, database_url, email, work)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    _print(result)


@app.command("list")
def campaigns_list(
    email: str = typer.Option(..., "--email"),
    state: Optional[str] = typer.Option(None, "--state", help="Only campaigns in this state."),
    limit: int = typer.Option(50, "--limit", min=1, max=200),
    as_json: bool = typer.Option(False, "--json"),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """The account's campaigns, newest first, with their counts."""
    from ..core.contacts import campaigns

    async def work(unit, account_id: int) -> list[dict]:  # noqa: ANN001
        found, _next = await campaigns.list_campaigns(unit, account_id, state=state, limit=limit)
        return [c.public(await campaigns.counts(unit, c)) for c in found]

    rows = run_for_account(data_dir, database_url, email, work)
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    table = Table(title=f"campaigns of {email}")
    for col in ("id", "title", "state", "total", "queued", "sent", "delivered", "failed", "opted out", "start"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["id"]), r["title"], r["state"], str(r["total"]), str(r["queued"] + r["waiting"]), str(r["sent"]),
            str(r["delivered"]), str(r["failed"]), str(r["opted_out"]), r["send_at"] or "",
        )  # fmt: skip
    console.print(table)


def _one(
    action: Callable[[Any, int, int], Awaitable[Any]] | None, campaign_id: int, email: str, as_json: bool,
    data_dir: Optional[Path], database_url: Optional[str],
) -> None:
    from ..core.contacts import campaigns

    async def work(unit, account_id: int) -> dict:  # noqa: ANN001
        if action is not None:
            await action(unit, account_id, campaign_id)
        return await campaigns.show(unit, account_id, campaign_id)

    result = run_for_account(data_dir, database_url, email, work)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    _print(result)


@app.command("show")
def campaigns_show(
    campaign_id: int = typer.Argument(...),
    email: str = typer.Option(..., "--email"),
    as_json: bool = typer.Option(False, "--json"),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """One campaign and its counts: total, waiting, queued, sent, delivered, failed, opted out, duplicates skipped."""
    _one(None, campaign_id, email, as_json, data_dir, database_url)


@app.command("pause")
def campaigns_pause(
    campaign_id: int = typer.Argument(...),
    email: str = typer.Option(..., "--email"),
    as_json: bool = typer.Option(False, "--json"),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Stop handing out messages (what is already queued still goes)."""
    from ..core.contacts import campaigns

    _one(campaigns.pause, campaign_id, email, as_json, data_dir, database_url)


@app.command("resume")
def campaigns_resume(
    campaign_id: int = typer.Argument(...),
    email: str = typer.Option(..., "--email"),
    as_json: bool = typer.Option(False, "--json"),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Go on handing out messages where the pause stopped."""
    from ..core.contacts import campaigns

    _one(campaigns.resume, campaign_id, email, as_json, data_dir, database_url)


@app.command("cancel")
def campaigns_cancel(
    campaign_id: int = typer.Argument(...),
    email: str = typer.Option(..., "--email"),
    as_json: bool = typer.Option(False, "--json"),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Cancel every message not yet taken by a phone or connector."""
    from ..core.contacts import campaigns

    _one(campaigns.cancel, campaign_id, email, as_json, data_dir, database_url)
