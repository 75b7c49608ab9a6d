"""``postino graph``: a fake WhatsApp Business Cloud API (Meta's Graph API) for tests and demos."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Optional

import typer

from .common import fail

app = typer.Typer(help="Graph: run a fake WhatsApp Business Cloud API.", no_args_is_help=True)


def _delay(value: str, option: str) -> float | None:
    """Seconds, or None for 'never' (``none`` or a negative number)."""
    if value.strip().lower() == "none":
        return None
    try:
        seconds = float(value)
    except ValueError:
        fail(f"{option} takes seconds or 'none', not {value!r}")
    return None if seconds < 0 else seconds


def _numbers(value: str) -> tuple[str, ...]:
    numbers = tuple(n.strip() for n in value.split(",") if n.strip())
    for n in numbers:
        digits = n.removeprefix("+").removesuffix("*")
        if not digits.isdigit():
            fail(f"{n!r} is not a number (digits, or a prefix ending in '*')")
    return numbers


@app.command("simulate")
def graph_simulate(
    port: int = typer.Option(0, "--port", help="TCP port; 0 picks a free one (printed on start)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    token: str = typer.Option("graph-test-token", "--token", help="The access token sends must carry as a bearer."),
    phone_number_id: str = typer.Option("106540352242922", "--phone-number-id", help="The sending number's Graph id."),
    app_secret: str = typer.Option("graph-app-secret", "--app-secret", help="Signs the webhooks (X-Hub-Signature-256)."),
    webhook_url: Optional[str] = typer.Option(None, "--webhook-url", help="Where statuses and inbound messages go."),
    verify_token: Optional[str] = typer.Option(
        None, "--verify-token", help="With --webhook-url: the verification GET is made at start and on {\"subscribe\": true}."
    ),
    waba_id: str = typer.Option("102290129340398", "--waba-id", help="The business account id in webhook entries."),
    display_phone_number: str = typer.Option("15550783881", "--display-phone-number", help="In webhook metadata."),
    sent_delay: str = typer.Option("0.05", "--sent-delay", help="Seconds from a send to its 'sent' status; 'none' or < 0: never."),
    delivered_delay: str = typer.Option("0.2", "--delivered-delay", help="Seconds from a send to 'delivered'; 'none': never."),
    read_delay: str = typer.Option("0.5", "--read-delay", help="Seconds from a send to 'read'; 'none': never."),
    invalid: str = typer.Option(
        "", "--invalid", help="Numbers (or prefixes ending in '*') whose sends are accepted, then 'failed' 131026."
    ),
    window_closed: str = typer.Option(
        "", "--window-closed", help="Numbers (or prefixes*) whose non-template sends get 'failed' 131047, until they write."
    ),
    rate_limit: float = typer.Option(0, "--rate-limit", help="Sends a second accepted (token bucket); beyond: 400 code 130429."),
    pair_rate_limit: int = typer.Option(0, "--pair-rate-limit", help="Sends per number per 6 s; beyond: 400 code 131056."),
    expired_token: bool = typer.Option(False, "--expired-token", help="Refuse every request: 401 code 190."),
    fetch_links: bool = typer.Option(
        False, "--fetch-links", help="GET each media link once after the send; a failed fetch is 'failed' 131053."
    ),
    webhook_attempts: int = typer.Option(5, "--webhook-attempts", help="Tries per webhook (back-off 0.2 s, doubling, at most 2 s)."),
    parent_pid: Optional[int] = typer.Option(None, "--parent-pid", help="Stop when this process is gone."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed the ids for repeatable runs."),
    log: Optional[str] = typer.Option(None, "--log", help="JSON line per event to this file ('-': stdout)."),
) -> None:
    """Serve POST /vNN.N/{phone-number-id}/messages, GET /vNN.N/{media-id} (and its download
    URL), POST /vNN.N/{phone-number-id}/media, and post signed status and inbound webhooks.

    Commands, one JSON object a line on stdin: {"webhook_url": "http://…"}, {"subscribe": true}
    (the verification GET), {"expire_token": true|false}, {"app_secret": "…"},
    {"inbound": {"from": "628…", "text": "hi", "name"?: "…"}}, {"inbound": {"from": "…",
    "image"|"document"|"video"|"audio": {"mime_type": "image/jpeg", "bytes_b64": "…", "caption"?, "filename"?}}},
    {"status": {"id": "wamid.…", "status": "sent|delivered|read|failed", "code"?: 131026}}.

    Log events: send, refused, webhook (one per attempt), webhook_dropped, verify,
    link_fetched, mark_read, media_uploaded, webhook_url, token, error; each with "at".
    """
    from ..graph.simulator import Log, Options, serve

    if not 0 <= port <= 65535:
        fail("--port must be between 0 and 65535")
    if rate_limit < 0 or pair_rate_limit < 0 or webhook_attempts < 1:
        fail("limits cannot be negative and --webhook-attempts is at least 1")
    options = Options(
        host=host,
        port=port,
        token=token,
        phone_number_id=phone_number_id,
        app_secret=app_secret,
        waba_id=waba_id,
        display_phone_number=display_phone_number,
        webhook_url=webhook_url,
        verify_token=verify_token,
        sent_delay=_delay(sent_delay, "--sent-delay"),
        delivered_delay=_delay(delivered_delay, "--delivered-delay"),
        read_delay=_delay(read_delay, "--read-delay"),
        invalid=_numbers(invalid),
        window_closed=_numbers(window_closed),
        rate_limit=rate_limit,
        pair_rate_limit=pair_rate_limit,
        expired_token=expired_token,
        fetch_links=fetch_links,
        webhook_attempts=webhook_attempts,
        parent_pid=parent_pid,
        seed=seed,
    )
    with contextlib.ExitStack() as files:
        out = sys.stdout.buffer if log == "-" else files.enter_context(Path(log).open("ab")) if log else None
        try:
            asyncio.run(serve(options, Log(out), commands=sys.stdin))
        except OSError as exc:
            fail(f"cannot listen on {host}:{port}: {exc}")
