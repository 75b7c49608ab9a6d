"""What every ``postino`` command shares: settings from flags, errors, running core work."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Optional, TypeVar

import typer
from rich.console import Console

from ..settings import Settings

T = TypeVar("T")

console = Console()
err = Console(stderr=True)

DataDir = typer.Option(None, "--data-dir", help="Data folder (env POSTINO_DATA_DIR, default ./postino-data).")
DbUrl = typer.Option(None, "--database-url", help="Database URL (env POSTINO_DATABASE_URL; default SQLite in the data dir).")


def make_settings(data_dir: Optional[Path] = None, database_url: Optional[str] = None, **overrides: object) -> Settings:
    """Environment first, then any flag that was given."""
    settings = Settings()
    updates = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        updates["data_dir"] = data_dir
    if database_url is not None:
        updates["database_url"] = database_url
    return settings.model_copy(update=updates)


def fail(message: str) -> None:
    """Print ``message`` as an error and exit with status 1."""
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


def run_core(settings: Settings, work: Callable[[Any], Awaitable[T]], *, write: bool = True) -> T:
    """Migrate, then run ``work(unit)`` in one transaction; domain errors become a clean exit."""
    from ..core.accounts import sealed
    from ..core.errors import DomainError
    from ..db.migrate import upgrade
    from ..wiring import new_core

    settings.ensure_dirs()

    async def _run() -> T:
        core = new_core(settings)
        try:
            await upgrade(core.db, sealer=sealed.for_settings(settings))
            async with (core.unit() if write else core.reader()) as unit:
                return await work(unit)
        finally:
            await core.db.dispose()

    try:
        return asyncio.run(_run())
    except DomainError as exc:
        fail(exc.message)
    except typer.BadParameter as exc:
        fail(str(exc))
    raise AssertionError("unreachable")


def run_for_account(
    data_dir: Optional[Path], database_url: Optional[str], email: str, work: Callable[[Any, int], Awaitable[T]]
) -> T:
    """Run ``work(unit, account_id)`` in one transaction of the account ``email``."""
    from ..core.accounts import accounts

    async def _work(unit: Any) -> T:
        account = await accounts.find_by_email(unit, email)
        if account is None:
            raise typer.BadParameter(f"no account {email}")
        return await work(unit, account.id)

    return run_core(make_settings(data_dir, database_url), _work)
