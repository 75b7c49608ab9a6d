"""Webhooks in the phone app's format, and the outbox rows signed the way the app signs.

``app_webhooks``: what an API user registers through the SMS Gate server API (one event
each, optionally one device), delivered server-side by the outbox. ``outbox.signature``
says how a row is signed: NULL is Postino's ``X-Postino-Signature``; ``app`` is the app's
``X-Signature`` (hex HMAC-SHA256 of the body followed by ``X-Timestamp``).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from postino.db.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "app_webhooks",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("ext_id", sa.String(64), nullable=False),
        sa.Column("device_id", Id, nullable=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_app_webhooks_account_id_accounts", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name="fk_app_webhooks_device_id_devices", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_app_webhooks"),
        sa.UniqueConstraint("account_id", "ext_id", name="uq_app_webhooks_account_id_ext_id"),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("signature", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("signature")
    op.drop_table("app_webhooks")
