"""Secrets the server must use again, stored encrypted with a key derived from the server key.

Tokens and passwords are hashed (``secrets.py``, ``accounts.py``): Postino only ever
compares them. Webhook signing secrets and the phones' HMAC keys are different: Postino
signs with them (or checks a phone's signature), so it needs them back, and a hash would
not do. They are stored *sealed*, so that a copy of the database (a backup, a replica, a
stolen dump) does not hand out the keys that make webhook POSTs and phone reports
believable. The stored form is self-describing::

    enc1:<key id>:<base64url(nonce | ciphertext | tag)>

- ``enc1`` names the format: AES-256-GCM with a random 96-bit nonce (safe for far more
  values than one server ever seals under one key), its key derived from the server key
  (``Settings.resolved_secret_key()``) with HKDF-SHA256. A later format gets a new
  prefix; values of this one stay readable.
- ``<key id>`` is a fingerprint of the server key (8 characters, from HKDF with a label
  of its own, so it gives nothing of the encryption key away). A value sealed with
  another server key is recognised as such, and the error names the key it needs instead
  of calling the value damaged; ``postino secrets rotate-key`` uses it to know what it
  has already done.
- The prefix and the key id are authenticated together with the ciphertext: changing
  either breaks the tag.

GCM authenticates what it decrypts, so a wrong key or an altered value raises
``Unreadable``, never returns garbage. No message of this module contains a secret or a
stored value, so they can be logged.

Which columns hold sealed values is listed here too (``COLUMNS``), next to ``reseal``,
which re-encrypts all of them under a new server key in the caller's transaction.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Column, Table, bindparam, select, text, update

from ...db.tables import accounts, connectors, devices, outbox, webhooks

if TYPE_CHECKING:
    from ...settings import Settings
    from ..service import Unit

VERSION = "enc1"
PREFIX = VERSION + ":"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID_CHARS = 8
_SALT = b"postino sealed values"
_KEY_INFO = b"enc1 aes-256-gcm key"
_KEY_ID_INFO = b"enc1 key id"


class Unreadable(Exception):
    """A stored value this server key cannot open. The message never holds the value."""


class NotSealed(Unreadable):
    """Clear text (or anything else) where a sealed value belongs."""


class OtherKey(Unreadable):
    """Sealed with another server key: the key changed without ``postino secrets rotate-key``."""

    def __init__(self, message: str, *, key_id: str, expected: str) -> None:
        super().__init__(message)
        self.key_id = key_id
        self.expected = expected


class Damaged(Unreadable):
    """Sealed with this key's id, but it does not decrypt: altered or cut short."""


def _derive(server_key: str, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=_SALT, info=info).derive(server_key.encode("utf-8"))


def sealed_length(clear_bytes: int) -> int:
    """Characters the sealed form of ``clear_bytes`` bytes of UTF-8 takes: what a column must hold."""
    payload = NONCE_BYTES + clear_bytes + TAG_BYTES
    return len(PREFIX) + KEY_ID_CHARS + 1 + 4 * ((payload + 2) // 3)


def key_id_of(stored: str) -> str | None:
    """The key id a sealed value names, or None when it is not in a sealed form."""
    parts = stored.split(":", 2) if isinstance(stored, str) else []
    if len(parts) != 3 or parts[0] != VERSION or len(parts[1]) != KEY_ID_CHARS:
        return None
    return parts[1]


class Sealer:
    """Seals and opens short text with the key derived from one server key.

    It keeps only the derived key (inside ``AESGCM``) and its id, never the server key.
    """

    def __init__(self, server_key: str) -> None:
        if not server_key:
            raise ValueError("the server key is empty")
        self._aead = AESGCM(_derive(server_key, _KEY_INFO, 32))
        self.key_id = base64.urlsafe_b64encode(_derive(server_key, _KEY_ID_INFO, 6)).decode("ascii")

    def __repr__(self) -> str:
        return f"Sealer(key_id={self.key_id!r})"

    def seal(self, clear: str) -> str:
        """The stored form of ``clear``: a new random nonce each time, so equal secrets look different."""
        header = f"{PREFIX}{self.key_id}:"
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, clear.encode("utf-8"), header.encode("ascii"))
        return header + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, stored: str) -> str:
        """The clear text of a value ``seal`` made with this key; ``Unreadable`` otherwise."""
        parts = stored.split(":", 2) if isinstance(stored, str) else []
        if len(parts) != 3 or not parts[0].startswith("enc"):
            raise NotSealed("not an encrypted value (stored before migration 0005, or written by an older Postino)")
        version, key_id, body = parts
        if version != VERSION:
            raise Unreadable(f"unknown encryption format {version!r} (written by a newer Postino?)")
        if key_id != self.key_id:
            raise OtherKey(
                f"encrypted with server key {key_id}, but this server's key is {self.key_id}: the server key "
                "changed without `postino secrets rotate-key` (or this node has another POSTINO_SECRET_KEY)",
                key_id=key_id,
                expected=self.key_id,
            )
        try:
            raw = base64.b64decode(body.encode("ascii"), altchars=b"-_", validate=True)
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise Damaged(f"encrypted value of key {key_id} is not valid base64: damaged") from exc
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise Damaged(f"encrypted value of key {key_id} is too short: damaged")
        try:
            clear = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], f"{version}:{key_id}:".encode("ascii"))
        except InvalidTag as exc:
            raise Damaged(f"encrypted value of key {key_id} does not decrypt: altered or damaged") from exc
        return clear.decode("utf-8")

    def owns(self, stored: str) -> bool:
        """Whether ``stored`` names this key (it may still be damaged: ``open`` tells)."""
        return key_id_of(stored) == self.key_id


@functools.lru_cache(maxsize=8)
def _sealer(server_key: str) -> Sealer:
    return Sealer(server_key)


def for_settings(settings: "Settings") -> Sealer:
    """The sealer of this process's server key (derived once per key, then shared)."""
    return _sealer(settings.resolved_secret_key())


# --- every sealed column, and re-encrypting them under a new key ----------------------


@dataclass(frozen=True)
class SealedColumn:
    name: str
    """What an operator reads in the rotation's report."""
    table: Table
    column: Column


COLUMNS: Sequence[SealedColumn] = (
    SealedColumn("webhook secrets", webhooks, webhooks.c.secret),
    SealedColumn("outbox signing secrets", outbox, outbox.c.secret),
    SealedColumn("phone signing keys", devices, devices.c.webhook_key),
    SealedColumn("connector secrets", connectors, connectors.c.secrets),
)
"""Every column whose values are sealed. ``''`` and NULL mean "no secret" and stay as they are."""

CHUNK = 1000


async def reseal(unit: "Unit", old: Sealer, new: Sealer) -> dict[str, int]:
    """Re-encrypt every sealed value from ``old``'s key to ``new``'s, in the caller's transaction.

    A value already sealed with the new key is checked and left (a second run after a
    successful one changes nothing). Any other value that ``old`` cannot open raises
    ``Unreadable`` before anything commits. Returns how many values each column had
    re-encrypted.
    """
    if old.key_id == new.key_id:
        raise ValueError("the old and the new key are the same")
    if unit.is_postgres:
        # Nothing is added or changed between the scan and the commit: other writers wait.
        names = ", ".join([*(c.table.name for c in COLUMNS), accounts.name])
        await unit.conn.execute(text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))
    counts: dict[str, int] = {}
    for sealed_column in COLUMNS:
        table, column = sealed_column.table, sealed_column.column
        key = table.c.id
        done, last = 0, None
        while True:
            query = select(key, column).where(column.is_not(None), column != "").order_by(key).limit(CHUNK)
            if last is not None:
                query = query.where(key > last)
            rows = (await unit.conn.execute(query)).all()
            if not rows:
                break
            last = rows[-1][0]
            changes = []
            for row_id, stored in rows:
                try:
                    if new.owns(stored):
                        new.open(stored)  # done by an earlier run: it must still open
                        continue
                    clear = old.open(stored)
                except Unreadable as exc:
                    raise Unreadable(f"{sealed_column.name}, row {row_id}: {exc}") from exc
                changes.append({"row_id": row_id, "sealed": new.seal(clear)})
            if changes:
                await unit.conn.execute(
                    update(table).where(key == bindparam("row_id")).values({column.name: bindparam("sealed")}),
                    changes,
                )
            done += len(changes)
        counts[sealed_column.name] = done
    counts["accounts.settings"] = await _reseal_settings(unit, old, new)
    return counts


async def _reseal_settings(unit: "Unit", old: Sealer, new: Sealer) -> int:
    """Sealed values kept inside an account's settings JSON (an API's signing key), found by
    their prefix: the format names itself, so no list of setting names can fall behind."""
    done = 0
    for row_id, settings in (await unit.conn.execute(select(accounts.c.id, accounts.c.settings).order_by(accounts.c.id))).all():
        changed = dict(settings or {})
        for name, stored in (settings or {}).items():
            if not (isinstance(stored, str) and stored.startswith(PREFIX)):
                continue
            try:
                if new.owns(stored):
                    new.open(stored)
                    continue
                changed[name] = new.seal(old.open(stored))
            except Unreadable as exc:
                raise Unreadable(f"accounts.settings[{name!r}], row {row_id}: {exc}") from exc
            done += 1
        if changed != (settings or {}):
            await unit.conn.execute(update(accounts).where(accounts.c.id == row_id).values(settings=changed))
    return done
