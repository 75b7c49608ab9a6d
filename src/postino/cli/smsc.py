"""``postino smsc``: a simulated SMSC for tests and demos."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Optional

import typer

from .common import fail

app = typer.Typer(help="SMSC: run a simulated SMPP 3.4 server.", no_args_is_help=True)

ID_FORMS = ("same", "decimal", "upper")


@app.command("simulate")
def smsc_simulate(
    port: int = typer.Option(..., "--port", help="TCP port; 0 picks a free one (printed on start)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    system_id: Optional[str] = typer.Option(None, "--system-id", help="Only this system_id may bind (default: any)."),
    password: Optional[str] = typer.Option(None, "--password", help="Its password."),
    receipt_delay: float = typer.Option(0.0, "--receipt-delay", help="Seconds before a submitted part's receipt."),
    deliver: float = typer.Option(1.0, "--deliver", help="Odds (0-1) that a receipt says DELIVRD, else UNDELIV."),
    throttle_every: int = typer.Option(0, "--throttle-every", help="Answer every Nth submit_sm ESME_RTHROTTLED."),
    fail_every: int = typer.Option(0, "--fail-every", help="Answer every Nth submit_sm ESME_RSUBMITFAIL."),
    disconnect_after: int = typer.Option(
        0, "--disconnect-after", help="Drop the connection at the Nth submit_sm, the last few left unanswered (once)."
    ),
    parent_pid: Optional[int] = typer.Option(None, "--parent-pid", help="Stop when this process is gone."),
    hold: int = typer.Option(5, "--hold", help="With --disconnect-after: how many submit_sm before the drop go unanswered."),
    receipt_id_form: str = typer.Option(
        "same", "--receipt-id-form", help="How receipts write the id: same, decimal (of the hex id) or upper."
    ),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed the delivery odds for repeatable runs."),
    log: Optional[str] = typer.Option(None, "--log", help="JSON line per event to this file ('-': stdout)."),
) -> None:
    """Run an SMSC that answers submit_sm, sends receipts, and takes commands as JSON lines
    on stdin: {"deliver": {"from": "+39…", "to": "alberto", "text": "…"}} or {"disconnect": true}."""
    from ..smsc.simulator import EventLog, Options, serve

    if not 0 <= deliver <= 1:
        fail("--deliver must be between 0 and 1")
    if receipt_id_form not in ID_FORMS:
        fail(f"--receipt-id-form must be one of {', '.join(ID_FORMS)}")
    if min(throttle_every, fail_every, disconnect_after, port, hold - 1) < 0 or receipt_delay < 0:
        fail("counts, delays and the port cannot be negative")
    if password is not None and system_id is None:
        fail("--password needs --system-id")
    options = Options(
        host=host,
        port=port,
        system_id=system_id,
        password=password,
        receipt_delay=receipt_delay,
        deliver=deliver,
        throttle_every=throttle_every,
        fail_every=fail_every,
        disconnect_after=disconnect_after,
        hold=hold,
        parent_pid=parent_pid,
        receipt_id_form=receipt_id_form,  # type: ignore[arg-type]
        seed=seed,
    )
    out = None
    if log == "-":
        out = sys.stdout.buffer
    elif log:
        out = Path(log).open("ab")
    try:
        asyncio.run(serve(options, EventLog(out), commands=sys.stdin))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc}")
    finally:
        if out is not None and log != "-":
            out.close()
