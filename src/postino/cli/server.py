"""``postino serve`` and ``postino migrate``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..settings import parse_networks
from .common import DataDir, DbUrl, console, fail, make_settings, run_core


def serve(
    host: Optional[str] = typer.Option(None, help="Address to listen on (default 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, help="Port (default 8000)."),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
    demo: bool = typer.Option(False, "--demo", help="Create the demo account and run a simulated phone."),
    sandbox: bool = typer.Option(False, "--sandbox", help="Enable the NusaSMS sandbox key DEV_TESTING_API_KEY."),
    tls_cert: Optional[Path] = typer.Option(None, "--tls-cert", help="PEM certificate: serve https."),
    tls_key: Optional[Path] = typer.Option(None, "--tls-key", help="PEM private key for --tls-cert."),
    role: Optional[str] = typer.Option(None, help="all (default), api (HTTP only) or worker (background jobs only)."),
    lease_seconds: Optional[int] = typer.Option(None, "--lease-seconds", help="Lease of a handed-out message."),
    allow_private_urls: Optional[bool] = typer.Option(
        None, "--allow-private-urls/--no-allow-private-urls",
        help="Allow callbacks/media to loopback and private addresses (not link-local or metadata).",
    ),
    allowed_private_networks: Optional[str] = typer.Option(
        None, "--allowed-private-networks",
        help="Comma-separated CIDRs callbacks/media may reach although not public (metadata ones too).",
    ),
    public_url: Optional[str] = typer.Option(None, "--public-url", help="Base URL phones and media links use."),
) -> None:
    """Run the gateway: HTTP APIs, device API and the background worker."""
    import uvicorn

    from ..server import build_app

    if role is not None and role not in ("all", "api", "worker"):
        fail("--role must be all, api or worker")
    if (tls_cert is None) != (tls_key is None):
        fail("--tls-cert and --tls-key go together")
    networks = None
    if allowed_private_networks is not None:
        try:
            networks = parse_networks(allowed_private_networks)
        except ValueError as exc:
            fail(f"--allowed-private-networks: {exc}")
    settings = make_settings(
        data_dir,
        database_url,
        host=host,
        port=port,
        demo=demo or None,
        sandbox=sandbox or None,
        tls_cert=tls_cert,
        tls_key=tls_key,
        role=role,
        lease_seconds=lease_seconds,
        allow_private_urls=allow_private_urls,
        allowed_private_networks=networks,
        public_url=public_url,
    )
    application = build_app(settings)
    uvicorn.Server(uvicorn_config(application, settings)).run()


def uvicorn_config(application, settings):  # noqa: ANN001, ANN201 - uvicorn is imported lazily
    """The server settings of ``serve``; the benchmark's bare ASGI app is served with the same."""
    import uvicorn

    return uvicorn.Config(
        application,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        ssl_certfile=str(settings.tls_cert) if settings.tls_cert else None,
        ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
        access_log=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=5,  # phones' event streams never end by themselves
        proxy_headers=True,
        loop="uvloop",
        http="httptools",
    )


def migrate(
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
    new: Optional[str] = typer.Option(
        None, "--new", help="For developers: write a new migration MESSAGE from the changes in tables.py."
    ),
) -> None:
    """Apply database migrations (``serve`` also does this at start)."""
    from ..db.migrate import autogenerate

    async def work(unit) -> None:  # noqa: ANN001 - run_core has migrated already
        if new:
            await autogenerate(unit.core.db, new)

    run_core(make_settings(data_dir, database_url), work, write=False)
    console.print("database is up to date" + (f"; new migration written for {new!r}" if new else ""))
