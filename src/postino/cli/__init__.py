"""The ``postino`` command. Its options are a contract used by operators and tests."""

from __future__ import annotations

import typer

from . import accounts, connectors, device, graph, routes, secrets, server, smsc, webhooks
from . import campaigns, contacts, optouts

app = typer.Typer(help="Postino: a self-hosted SMS / WhatsApp / RCS gateway.", no_args_is_help=True)
app.command()(server.serve)
app.command()(server.migrate)
app.add_typer(accounts.app, name="accounts")
app.add_typer(device.app, name="device")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(secrets.app, name="secrets")
app.add_typer(contacts.app, name="contacts")
app.add_typer(campaigns.app, name="campaigns")
app.add_typer(optouts.app, name="optouts")
app.add_typer(smsc.app, name="smsc")
app.add_typer(graph.app, name="graph")
app.add_typer(connectors.app, name="connectors")
app.add_typer(routes.app, name="routes")


def main() -> None:
    app()
