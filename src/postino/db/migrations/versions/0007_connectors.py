"""Connectors and routes: messages leave through carriers (SMPP), not only phones.

``connectors``: what an account sends through besides its phones (an SMSC over SMPP, the
WhatsApp Cloud API), its settings in ``config`` and its secrets sealed in ``secrets``;
``state``/``up_until``/``queue_depth`` are what the node serving it last reported, read
by routing (a connector whose ``up_until`` has passed is down).
``routes``: an account's ordered rules naming connectors with weights.
``smsc_ids``: the id an SMSC gave each part of a message (``key``: normalised), so a
receipt after a restart or on another node still matches; a receipt is looked up under
every form it may name an id in (SMSCs write one id in hex in one PDU, decimal in the other).
``smsc_receipts``: receipts that came before their id was stored, matched when it is.
``inbound_parts``: parts of a long inbound message, kept until the last one arrives.
``messages.connector_id``: the connector a queued message waits for (the partial index
keeps phone messages off it, so the send path pays nothing for it).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from postino.db.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "connectors",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secrets", sa.String(4000), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_detail", sa.String(200), nullable=False),
        sa.Column("up_until", UTCDateTime(), nullable=True),
        sa.Column("queue_depth", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_connectors_account_id_accounts", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_connectors"),
        sa.UniqueConstraint("account_id", "name", name="uq_connectors_account_id_name"),
    )
    op.create_table(
        "routes",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("prefixes", sa.JSON(), nullable=False),
        sa.Column("otp", sa.Boolean(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=True),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("fallback_channel", sa.String(16), nullable=True),
        sa.Column("fallback_after", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_routes_account_id_accounts", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_routes"),
    )
    op.create_index("ix_routes_account_position", "routes", ["account_id", "position"])
    op.create_table(
        "smsc_ids",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("connector_id", Id, nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("raw", sa.String(80), nullable=False),
        sa.Column("message_id", Id, nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["connector_id"], ["connectors.id"], name="fk_smsc_ids_connector_id_connectors", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], name="fk_smsc_ids_message_id_messages", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_smsc_ids"),
    )
    op.create_index("ix_smsc_ids_connector_key", "smsc_ids", ["connector_id", "key"])
    op.create_index("ix_smsc_ids_message", "smsc_ids", ["message_id"])
    op.create_table(
        "smsc_receipts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("connector_id", Id, nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("forms", sa.String(250), nullable=False),
        sa.Column("stat", sa.String(16), nullable=False),
        sa.Column("error", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["connector_id"], ["connectors.id"], name="fk_smsc_receipts_connector_id_connectors", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_smsc_receipts"),
    )
    op.create_index("ix_smsc_receipts_connector_key", "smsc_receipts", ["connector_id", "key"])
    op.create_table(
        "inbound_parts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("connector_id", Id, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("destination", sa.String(64), nullable=False),
        sa.Column("ref", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["connector_id"], ["connectors.id"], name="fk_inbound_parts_connector_id_connectors", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_parts"),
        sa.UniqueConstraint("connector_id", "source", "ref", "seq", name="uq_inbound_parts_connector_id_source_ref_seq"),
    )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("connector_id", Id, nullable=True))
    op.create_index(
        "ix_messages_connector_queue",
        "messages",
        ["connector_id", "state", "urgent", "priority", "id"],
        sqlite_where=sa.text("connector_id IS NOT NULL"),
        postgresql_where=sa.text("connector_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_connector_queue", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("connector_id")
    op.drop_table("inbound_parts")
    op.drop_table("smsc_receipts")
    op.drop_table("smsc_ids")
    op.drop_index("ix_routes_account_position", table_name="routes")
    op.drop_table("routes")
    op.drop_table("connectors")
