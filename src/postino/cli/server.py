"""``postino serve`` and ``postino migrate``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from ..settings import Settings, parse_networks
from .common import DataDir, DbUrl, console, fail, make_settings, run_core

SQLITE_WORKERS = (
    "--workers {n} needs PostgreSQL. On SQLite each process would keep its wake-ups to itself "
    "(a phone holding its event stream on one process would not hear a message accepted by "
    "another until its next periodic pull, up to an hour) and its own writer would compete for "
    "the one write lock. "
    "Run one process on SQLite, or set --database-url postgresql://... "
    '(docs/operations.md, "Several processes on one machine").'
)


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
    workers: Optional[int] = typer.Option(
        None, "--workers", min=1,
        help="HTTP processes on the same port (PostgreSQL only); the first one also runs the background jobs.",
    ),
    listen_fd: Optional[int] = typer.Option(None, "--listen-fd", hidden=True,
                                            help="Serve this inherited listening socket (set by --workers)."),
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
        workers=workers,
    )
    if listen_fd is None and settings.workers > 1:
        passed = _passed_flags(
            data_dir=data_dir, database_url=database_url, tls_cert=tls_cert, tls_key=tls_key,
            lease_seconds=lease_seconds, allowed_private_networks=allowed_private_networks, public_url=public_url,
            sandbox=sandbox, allow_private_urls=allow_private_urls,
        )
        raise typer.Exit(_supervise(settings, passed))
    application = build_app(settings)
    server = uvicorn.Server(uvicorn_config(application, settings))
    if listen_fd is None:
        server.run()
    else:
        import socket

        server.run(sockets=[socket.socket(fileno=listen_fd)])


def _passed_flags(**given: object) -> list[str]:
    """The flags a child of ``--workers`` repeats; the rest it reads from the same environment."""
    flags: list[str] = []
    for name, value in given.items():
        flag = "--" + name.replace("_", "-")
        if value is None:
            continue
        if name == "sandbox":
            flags += [flag] if value else []
        elif name == "allow_private_urls":
            flags.append(flag if value else "--no-allow-private-urls")
        else:
            flags += [flag, str(value)]
    return flags


def _supervise(settings: Settings, passed: list[str]) -> int:
    """``--workers N``: N children on one port (``postino.supervisor``), the background jobs in the first only.

    Only the first runs the scheduler, the outbox sender and the connectors: on
    PostgreSQL running them everywhere would be correct (every job takes its rows with
    SKIP LOCKED) but would open one SMPP bind per process to each carrier, multiply the
    per-host webhook limit and the polling queries by N, and start the demo phone twice.
    """
    from .. import supervisor

    if settings.resolved_database_url().startswith("sqlite"):
        fail(SQLITE_WORKERS.format(n=settings.workers))
    if settings.role == "worker":
        fail("--workers runs several HTTP processes: it goes with --role all or api, not worker")
    settings.ensure_dirs()
    settings.resolved_secret_key()  # generated once here: children starting together would each write their own
    try:
        sockets = supervisor.listening_sockets(settings.host, settings.port, settings.workers)
    except OSError as exc:
        fail(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}")
    port = sockets[0].getsockname()[1]
    scheme = "https" if settings.tls_cert else "http"
    console.print(f"Postino on {scheme}://{settings.host}:{port} with {settings.workers} worker processes "
                  f"(worker 1: role {settings.role}{', the background jobs' if settings.role == 'all' else ''}; "
                  f"the others: role api)", highlight=False, soft_wrap=True)
    if not settings.redis_url:
        console.print(f"POSTINO_REDIS_URL is not set: the NusaSMS rate limit is counted by each of the "
                      f"{settings.workers} processes on its own", highlight=False, soft_wrap=True)
    commands: list[list[str]] = []
    envs: list[dict[str, str]] = []
    for number, sock in enumerate(sockets, start=1):
        first = number == 1
        commands.append([
            sys.executable, "-m", "postino.cli", "serve", *passed, "--host", settings.host, "--port", str(port),
            "--role", settings.role if first else "api", *(["--demo"] if settings.demo and first else []),
            "--workers", "1", "--listen-fd", str(sock.fileno()),
        ])
        envs.append({} if first else {"POSTINO_DEMO": "false"})  # flags win over it; POSTINO_DEMO would not
    return supervisor.supervise(commands, sockets, envs=envs)


def uvicorn_config(application, settings):  # noqa: ANN001, ANN201 - uvicorn is imported lazily
    """The server settings of ``serve``; the benchmark's bare ASGI app is served with the same."""
    import uvicorn

    from ..http_server import GatheringHttpToolsProtocol

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
        http=GatheringHttpToolsProtocol,  # httptools, one socket write per answer
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
