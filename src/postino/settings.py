"""Every setting of a Postino process, read from ``POSTINO_*`` variables and CLI flags.

Flags win over the environment; the environment wins over the defaults. The settings
object is built once per process and handed down explicitly (no global lookups), so
tests can run several differently configured apps in one interpreter.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def parse_networks(value: Any) -> list[str]:
    """CIDRs (``10.0.0.0/8``) or single addresses: a list, a JSON list or a comma-separated string."""
    if value is None:
        return []
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("allowed_private_networks: not a JSON list") from None
    items = value.replace(",", " ").split() if isinstance(value, str) else [str(v).strip() for v in value]
    networks = []
    for item in items:
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValueError(f"{item!r} is not a network: write a CIDR such as 10.0.0.0/8 or an address") from None
    return networks


class Settings(BaseSettings):
    """What an operator can set. Each field is ``POSTINO_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="POSTINO_", extra="ignore")

    data_dir: Path = Path("./postino-data")
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    """The base URL phones and media links use; derived from host/port when empty."""
    secret_key: str = ""
    """The server key: stored webhook secrets and phone signing keys are encrypted with it
    (``core.accounts.sealed``; change it with ``postino secrets rotate-key``). Generated into
    the data dir when empty."""
    lease_seconds: int = 300
    """How long a phone or connector may hold a message without confirming it."""
    connector_lease_seconds: int = 60
    """How long a connector's worker holds a claimed message without renewing (it renews
    what it is still sending every few seconds): after a node dies, its messages go back
    to the queue this much later."""
    offline_after_seconds: int = 120
    """A device silent this long is shown offline."""
    scheduler_interval: float = 1.0
    campaign_batch: int = Field(default=5000, ge=1, le=100_000)
    """Contacts a campaign reads (and messages it writes) per transaction: a crash loses at
    most one such page of work, and each holds SQLite's write lock for that long."""
    allow_private_urls: bool = False
    """Allow outgoing HTTP (callbacks, media_url) to loopback/private addresses (never link-local or metadata)."""
    allowed_private_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Networks outgoing HTTP may reach although not public, link-local and metadata ones
    included (comma-separated CIDRs in the environment); works without allow_private_urls."""
    webhook_backoff_base: float = 10.0
    """Seconds before the first retry of a webhook/callback; doubles per attempt (jittered), at most an hour."""
    webhook_timeout: float = 10.0
    """Total seconds one webhook/callback POST may take (connect: at most 5)."""
    webhook_host_concurrency: int = 4
    """POSTs in flight at once to one host, per worker process."""
    role: Literal["all", "api", "worker"] = "all"
    """``api`` answers HTTP only, ``worker`` runs the background loops only (and ``/health``), ``all`` both."""
    workers: int = Field(default=1, ge=1)
    """HTTP processes ``postino serve`` starts on the same port (PostgreSQL only; docs/operations.md,
    "Several processes on one machine"). The first runs the role asked for, the others ``api``."""
    demo: bool = False
    sandbox: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_body_bytes: int = 16 * 1024 * 1024
    sqlite_mmap_bytes: int = 1024 * 1024 * 1024
    """SQLite only: how much of the file readers map instead of copying pages into each
    connection's own cache (0 turns it off). docs/configuration.md, "Databases"."""
    redis_url: str = ""
    """``redis://host:6379/0``: rate-limit counts shared by every process that names it."""
    log_level: str = "info"
    fail_paths: list[str] = []
    """For tests only: requests to these exact paths raise inside the app (how a crash is answered)."""

    @field_validator("allowed_private_networks", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> list[str]:
        return parse_networks(value)

    def resolved_database_url(self) -> str:
        """The database URL to use: explicit, or SQLite inside the data dir."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+asyncpg://" + url.split("://", 1)[1]
            elif url.startswith("sqlite:///"):
                url = "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
            return url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'postino.db').resolve()}"

    def resolved_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        scheme = "https" if self.tls_cert else "http"
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.media_dir.mkdir(parents=True, exist_ok=True)

    def resolved_secret_key(self) -> str:
        """The server secret: from the setting, else kept in ``<data_dir>/secret_key``."""
        if self.secret_key:
            return self.secret_key
        import secrets

        self.ensure_dirs()
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        self.secret_key = path.read_text().strip()
        return self.secret_key
