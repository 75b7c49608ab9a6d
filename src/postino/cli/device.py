"""``postino device``: simulated phones."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import fail

app = typer.Typer(help="Phones: run a simulated phone.", no_args_is_help=True)


@app.command("simulate")
def device_simulate(
    server: str = typer.Option(..., "--server", help="Postino's base URL, e.g. http://127.0.0.1:8000."),
    token: str = typer.Option(..., "--token", help="The account's device registration token."),
    slots: str = typer.Option("0,1", "--slots", help="SIM slots to declare: 0-1 SMS, 2-3 WhatsApp, 4-5 RCS."),
    deliver: float = typer.Option(1.0, "--deliver", help="Odds (0-1) that a sent message is reported delivered."),
    latency: str = typer.Option("50ms", "--latency", help="Time to send, and again to get the delivery report."),
    phones: int = typer.Option(1, "--phones", help="How many phones this process simulates."),
    state_file: Path = typer.Option(Path("postino-phone.json"), "--state-file", help="Where registrations are kept."),
    name: str = typer.Option("postino-sim", "--name", help="Device name prefix."),
    fail_pattern: str = typer.Option(
        r"#fail(?::([A-Za-z_]+))?", "--fail-pattern",
        help="Regex: matching text fails; its first group, if any, is the error (#fail:RESULT_ERROR_RADIO_OFF).",
    ),
    fail_error: str = typer.Option("RESULT_ERROR_NO_SERVICE", "--fail-error", help="Error of a #fail message."),
    reply_pattern: str = typer.Option("#reply", "--reply-pattern", help="Text containing it gets an inbound 'Re: ...'."),
    inbound_every: str = typer.Option("0", "--inbound-every", help="Report an inbound SMS this often (0: never)."),
    inbound_from: str = typer.Option("+393330000001", "--inbound-from", help="Sender of the periodic inbound SMS."),
    inbound_text: str = typer.Option("Hello from the simulated phone", "--inbound-text"),
    take_delay: str = typer.Option("0", "--take-delay", help="Hold pulled messages this long before taking them."),
    poll_every: str = typer.Option("10s", "--poll-every", help="Pull this often even without an event."),
    insecure: bool = typer.Option(False, "--insecure", help="Accept any TLS certificate (self-signed tests)."),
    ca_cert: Optional[Path] = typer.Option(None, "--ca-cert", help="PEM file of the CA that signed the server."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed the delivery odds for repeatable runs."),
    sent_log: Optional[Path] = typer.Option(
        None, "--sent-log", help="Append '<message id> <device id>' to this file for every SMS sent."
    ),
    parent_pid: Optional[int] = typer.Option(None, "--parent-pid", hidden=True),
) -> None:
    """Run simulated phones that speak the SMS Gateway for Android protocol to a Postino server."""
    from ..simulator import Options, parse_duration, parse_slots, run

    try:
        options = Options(
            server=server,
            token=token,
            slots=parse_slots(slots),
            deliver=deliver,
            latency=parse_duration(latency),
            phones=phones,
            state_file=state_file,
            name=name,
            fail_pattern=fail_pattern,
            fail_error=fail_error,
            reply_pattern=reply_pattern,
            inbound_every=parse_duration(inbound_every),
            inbound_from=inbound_from,
            inbound_text=inbound_text,
            take_delay=parse_duration(take_delay),
            poll_every=max(0.5, parse_duration(poll_every)),
            insecure=insecure,
            ca_cert=ca_cert,
            parent_pid=parent_pid,
            seed=seed,
            sent_log=sent_log,
        )
    except ValueError as exc:
        fail(str(exc))
    if not 0 <= deliver <= 1:
        fail("--deliver must be between 0 and 1")
    if phones < 1:
        fail("--phones must be at least 1")
    if not server.startswith(("http://", "https://")):
        fail("--server must be an http:// or https:// URL")
    raise typer.Exit(run(options))
