"""The ``postino`` command. Its options are a contract used by operators and tests."""

from __future__ import annotations

import typer

from . import accounts, device, secrets, server, webhooks

app = typer.Typer(help="Postino: a self-hosted SMS / WhatsApp / RCS gateway.", no_args_is_help=True)
app.command()(server.serve)
app.command()(server.migrate)
app.add_typer(accounts.app, name="accounts")
app.add_typer(device.app, name="device")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(secrets.app, name="secrets")


def main() -> None:
    app()
