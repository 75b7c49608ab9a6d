"""Webhook secrets and the phones' signing keys are stored encrypted with the server key.

Postino signs with them, so they cannot be hashed like tokens; until now they were kept
in clear. The columns are widened for the sealed form (``enc1:<key id>:<base64>``, see
``postino.core.accounts.sealed``; 200 characters of UTF-8 seal to at most 1118), then
every stored value is sealed. Before this revision no value was sealed, so all of them
are clear text; ``''`` and NULL (no secret) stay as they are.

Widening is a table copy on SQLite (batch mode); ``migrate.upgrade`` turns foreign keys
off around it, so the copy does not cascade into messages and delivery logs.

The key comes from ``migrate.upgrade(db, sealer=...)`` (``postino serve``, ``postino
migrate`` and every other command pass the server key's sealer). A database with
nothing to seal, such as a new one, migrates without it.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import context, op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = (
    # table, column, width before, width after, nullable
    ("webhooks", "secret", 200, 1200, False),
    ("outbox", "secret", 200, 1200, True),
    ("devices", "webhook_key", 64, 128, False),
)
CHUNK = 1000


def _sealer():  # noqa: ANN202 - postino.core.accounts.sealed.Sealer, handed in by migrate.upgrade
    sealer = context.config.attributes.get("sealer")
    if sealer is None:
        raise RuntimeError(
            "migration 0005 encrypts the stored webhook secrets and phone keys with the server key: "
            "run it with `postino migrate` (or `postino serve`), which pass the key"
        )
    return sealer


def _rewrite(table_name: str, column_name: str, change: Callable[[str], str]) -> None:
    """Replace every non-empty value of the column by ``change(value)``, a chunk at a time."""
    bind = op.get_bind()
    table = sa.table(table_name, sa.column("id", sa.BigInteger), sa.column(column_name, sa.String))
    column = table.c[column_name]
    last = 0
    while True:
        rows = bind.execute(
            sa.select(table.c.id, column)
            .where(column.is_not(None), column != "", table.c.id > last)
            .order_by(table.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        bind.execute(
            sa.update(table).where(table.c.id == sa.bindparam("row_id")).values({column_name: sa.bindparam("value")}),
            [{"row_id": row_id, "value": change(value)} for row_id, value in rows],
        )


def upgrade() -> None:
    for table_name, column_name, before, after, nullable in COLUMNS:
        with op.batch_alter_table(table_name) as batch:
            batch.alter_column(
                column_name, existing_type=sa.String(before), type_=sa.String(after), existing_nullable=nullable
            )
    for table_name, column_name, *_ in COLUMNS:
        _rewrite(table_name, column_name, lambda clear: _sealer().seal(clear))


def downgrade() -> None:
    for table_name, column_name, *_ in COLUMNS:
        _rewrite(table_name, column_name, lambda stored: _sealer().open(stored))
    for table_name, column_name, before, after, nullable in COLUMNS:
        with op.batch_alter_table(table_name) as batch:
            batch.alter_column(
                column_name, existing_type=sa.String(after), type_=sa.String(before), existing_nullable=nullable
            )
