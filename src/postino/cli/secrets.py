"""``postino secrets``: the server key that the stored webhook secrets and phone keys are sealed with.

Keys are read from files or the environment, never from the command line: a command
line is visible to every user of the machine (``ps``) and stays in shell histories.
Nothing here prints a key; keys are named by their id (``core.accounts.sealed``).
"""

from __future__ import annotations

import json
import os
import secrets as _random
import sys
from pathlib import Path
from typing import Optional

import typer

from .common import DataDir, DbUrl, console, err, fail, make_settings, run_core

app = typer.Typer(help="The server key that stored secrets are encrypted with.", no_args_is_help=True)

OLD_ENV = "POSTINO_OLD_SECRET_KEY"
NEW_ENV = "POSTINO_NEW_SECRET_KEY"
MIN_KEY_CHARS = 16


def _read_key(path: Path, what: str) -> str:
    try:
        key = path.read_text().strip()
    except OSError as exc:
        fail(f"cannot read the {what} key file {path}: {exc.strerror}")
    if not key:
        fail(f"the {what} key file {path} is empty")
    return key


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` (it must not exist) readable by its owner only, before anything is written into it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


@app.command("rotate-key")
def rotate_key(
    old_key_file: Optional[Path] = typer.Option(
        None, "--old-key-file",
        help=f"File holding the key the secrets are encrypted with now (else env {OLD_ENV}, "
        "else the server key: POSTINO_SECRET_KEY or <data dir>/secret_key).",
    ),
    new_key_file: Optional[Path] = typer.Option(
        None, "--new-key-file",
        help=f"File holding the new key (else env {NEW_ENV}). Without either, a new random key is "
        "generated; that needs the server key to live in <data dir>/secret_key.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object: key ids and counts."),
    data_dir: Optional[Path] = DataDir,
    database_url: Optional[str] = DbUrl,
) -> None:
    """Re-encrypt every stored secret with a new server key, in one transaction (stop every node first).

    With the server key in <data dir>/secret_key (POSTINO_SECRET_KEY unset), the new key replaces it there once the database has committed; otherwise set it as POSTINO_SECRET_KEY on every node before starting them again.
    """
    from ..core.accounts import sealed

    settings = make_settings(data_dir, database_url)
    key_file = settings.data_dir / "secret_key"
    in_file = not settings.secret_key  # the server key lives in the data folder, not in the environment
    pending = key_file.with_name("secret_key.new")
    if in_file and pending.exists():
        fail(
            f"{pending} exists: an earlier rotation stopped before moving it into place, and it may hold "
            "the key the database is encrypted with now. Keep it; see docs/operations.md, \"The server key\""
        )

    if old_key_file is not None:
        old_key = _read_key(old_key_file, "old")
    elif os.environ.get(OLD_ENV):
        old_key = os.environ[OLD_ENV]
    elif not in_file:
        old_key = settings.secret_key
    elif key_file.exists():
        old_key = _read_key(key_file, "server")
    else:
        fail(f"no server key: POSTINO_SECRET_KEY is not set and there is no {key_file}")

    if new_key_file is not None:
        new_key = _read_key(new_key_file, "new")
    elif os.environ.get(NEW_ENV):
        new_key = os.environ[NEW_ENV]
    elif in_file:
        new_key = _random.token_hex(32)
    else:
        fail(f"POSTINO_SECRET_KEY is set: give the new key with --new-key-file or {NEW_ENV}")
    if len(new_key) < MIN_KEY_CHARS:
        fail(f"the new key must be at least {MIN_KEY_CHARS} characters (e.g. `openssl rand -hex 32`)")

    old, new = sealed.Sealer(old_key), sealed.Sealer(new_key)
    if old.key_id == new.key_id:
        fail("the new key is the old key")

    resealed = False

    async def work(unit) -> dict[str, int]:  # noqa: ANN001
        nonlocal resealed
        try:
            counts = await sealed.reseal(unit, old, new)
        except sealed.Unreadable as exc:
            raise typer.BadParameter(f"nothing changed: {exc}") from exc
        resealed = True  # from here on the commit may happen: the new key file must stay
        return counts

    # Any pending migration runs with the old key, the one the database holds now.
    settings = settings.model_copy(update={"secret_key": old_key})
    if in_file:
        settings.ensure_dirs()
        _write_private(pending, new_key + "\n")  # on disk before the commit: the new key is never only in memory
    try:
        counts = run_core(settings, work)
    except BaseException:
        if not resealed:  # rolled back: the new key was never used
            pending.unlink(missing_ok=True)
        elif in_file:
            err.print(f"the rotation may have committed: keep {pending} (docs/operations.md, \"The server key\")")
        raise
    if in_file:
        os.replace(pending, key_file)

    result = {"old_key_id": old.key_id, "new_key_id": new.key_id, "reencrypted": counts}
    if in_file:
        result["key_file"] = str(key_file)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    console.print(f"server key {old.key_id} -> {new.key_id}: re-encrypted " + ", ".join(
        f"{n} {what}" for what, n in counts.items()
    ))
    if in_file:
        console.print(f"the new key is in {key_file}; start the server again")
    else:
        console.print("now set POSTINO_SECRET_KEY to the new key on every node, then start them again")
