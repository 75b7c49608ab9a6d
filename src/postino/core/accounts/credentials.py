"""Credentials: every kind of secret an account hands to a client, stored hashed.

Kinds: ``sg24`` (SmsGateway24 tokens, 32 hex), ``bearer`` (scoped, expiring tokens),
``api_key`` (NusaSMS ``APIKey``), ``device_registration`` (a phone joins the account).
The secret is returned once, at creation; only its SHA-256 is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, or_, select, update

from ...db.prepared import Prepared, param
from ...db.tables import credentials
from ..clock import utcnow
from ..errors import AuthError, Forbidden, InvalidInput, NotFound
from ..service import Core, Unit
from . import secrets

KINDS = ("sg24", "bearer", "api_key", "device_registration", "jwt", "jwt_refresh")
"""``jwt``/``jwt_refresh``: signed access and refresh tokens (``jwt_tokens``); their scope names are the issuer's."""
SCOPES = ("messages:read", "messages:write", "messages:delete", "tokens:manage", "connectors:read", "connectors:write")


@dataclass(frozen=True)
class Credential:
    id: int
    account_id: int
    kind: str
    name: str
    hint: str
    scopes: tuple[str, ...]
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    last_used_at: datetime | None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class Issued:
    """A newly created credential with its secret, the only time the secret exists."""

    credential: Credential
    secret: str


def _row(row) -> Credential:  # noqa: ANN001
    return Credential(
        id=row.id,
        account_id=row.account_id,
        kind=row.kind,
        name=row.name,
        hint=row.hint,
        scopes=tuple(row.scopes or ()),
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


def _new_secret(kind: str) -> str:
    if kind == "sg24":
        return secrets.token_hex(16)
    if kind == "api_key":
        return secrets.token_hex(24).upper()
    if kind == "device_registration":
        return secrets.token_urlsafe_chars(32)
    return "pst_" + secrets.token_urlsafe_chars(40)


async def issue(
    unit: Unit,
    account_id: int,
    kind: str,
    *,
    name: str = "",
    scopes: list[str] | tuple[str, ...] | None = None,
    expires_at: datetime | None = None,
    secret: str | None = None,
) -> Issued:
    """Create a credential. ``secret`` is only for fixed, operator-chosen keys (sandbox)."""
    if kind not in KINDS:
        raise InvalidInput(f"Unknown credential kind {kind!r}")
    scope_list = list(scopes if scopes is not None else (SCOPES if kind == "bearer" else ()))
    unknown = [s for s in scope_list if s not in SCOPES] if kind == "bearer" else []
    if unknown:
        raise InvalidInput(f"Unknown scope {unknown[0]!r}", field="scopes")
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInput("expires_at is in the past", field="expires_at")
    value = secret or _new_secret(kind)
    now = utcnow()
    row = (
        await unit.conn.execute(
            insert(credentials)
            .values(
                account_id=account_id,
                kind=kind,
                name=name[:200],
                secret_hash=secrets.hash_secret(value),
                hint=value[-4:],
                scopes=scope_list,
                expires_at=expires_at,
                created_at=now,
            )
            .returning(*credentials.c)
        )
    ).one()
    return Issued(_row(row), value)


_BY_HASH = select(credentials).where(credentials.c.secret_hash == bindparam("secret_hash"))
"""Built once: every authenticated request runs it, and building a statement costs more than running it."""


async def resolve(unit: Unit, secret: str | None, kinds: tuple[str, ...]) -> Credential:
    """The live credential of one of ``kinds`` whose secret this is, else ``AuthError``."""
    if not secret:
        raise AuthError("Missing credential")
    row = (await unit.conn.execute(_BY_HASH, {"secret_hash": secrets.hash_secret(secret.strip())})).one_or_none()
    if row is None or row.kind not in kinds or row.revoked_at is not None:
        raise AuthError("Invalid credential")
    if row.expires_at is not None and row.expires_at <= utcnow():
        raise AuthError("Credential expired")
    return _row(row)


async def resolve_cached(core: Core, secret: str | None, kinds: tuple[str, ...]) -> Credential:
    """``resolve`` through the in-process cache; callers must ``check_live`` in their write.

    Only live credentials are cached (a wrong token always reaches the database), keyed
    by the secret's hash; expiry is checked on every hit.
    """
    if not secret:
        raise AuthError("Missing credential")
    credential = await core.read_cached(  # read for any kind: the read is shared by all callers
        core.cache.credentials, secrets.hash_secret(secret.strip()), lambda unit: resolve(unit, secret, KINDS)
    )
    assert credential is not None
    if credential.kind not in kinds:
        raise AuthError("Invalid credential")
    if credential.expires_at is not None and credential.expires_at <= utcnow():
        raise AuthError("Credential expired")
    return credential


_LIVE = Prepared(
    select(credentials.c.id).where(
        credentials.c.id == param(credentials.c.id),
        credentials.c.revoked_at.is_(None),
        or_(credentials.c.expires_at.is_(None), credentials.c.expires_at > param(credentials.c.expires_at)),
    )
)


def check_live(conn: Connection, credential_id: int) -> None:
    """Inside a write: the credential is still unrevoked and unexpired (any process may revoke)."""
    if not _LIVE.run(conn, {"id": credential_id, "expires_at": utcnow()}):
        raise AuthError("Invalid credential")


def require_scope(credential: Credential, scope: str) -> None:
    if credential.kind == "bearer" and not credential.has_scope(scope):
        raise Forbidden(f"Token lacks scope {scope}")


async def list_for(unit: Unit, account_id: int, kind: str) -> list[Credential]:
    rows = (
        await unit.conn.execute(
            select(credentials)
            .where(credentials.c.account_id == account_id, credentials.c.kind == kind)
            .order_by(credentials.c.id)
        )
    ).all()
    return [_row(r) for r in rows]


async def revoke(unit: Unit, account_id: int, credential_id: int) -> Credential:
    row = (
        await unit.conn.execute(
            update(credentials)
            .where(
                credentials.c.id == credential_id,
                credentials.c.account_id == account_id,
                credentials.c.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
            .returning(*credentials.c)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("Token not found")
    cached = unit.core.cache.credentials
    cached.drop_where(lambda _key, c: c.id == credential_id)
    unit.after_commit(lambda: cached.drop_where(lambda _key, c: c.id == credential_id))
    return _row(row)


async def revoke_named(unit: Unit, account_id: int, kinds: tuple[str, ...], name: str) -> int:
    """Revoke every live credential of ``kinds`` named ``name`` (a token pair shares its id); how many."""
    rows = (
        await unit.conn.execute(
            update(credentials)
            .where(
                credentials.c.account_id == account_id,
                credentials.c.kind.in_(kinds),
                credentials.c.name == name,
                credentials.c.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
            .returning(credentials.c.id)
        )
    ).all()
    ids = {r.id for r in rows}
    if ids:
        cached = unit.core.cache.credentials
        cached.drop_where(lambda _key, c: c.id in ids)
        unit.after_commit(lambda: cached.drop_where(lambda _key, c: c.id in ids))
    return len(ids)
