"""WhatsApp through the Cloud API: channel fallback and what Postino learns of numbers.

``fallbacks``: a WhatsApp message sent by a route that names a fallback channel. ``due_at``
is when it is sent again as SMS if not delivered by then (NULL: only a failure as
``invalid_destination`` / ``window_closed`` triggers it); ``state`` is ``waiting`` until
it is settled: ``done`` (the SMS went: ``fallback_message_id``), ``skipped`` (delivered,
or failed for another reason) or ``refused`` (the SMS could not be accepted: ``detail``).
The scheduler reads only ``waiting`` rows through ``ix_fallbacks_state_due``.
``messages.fallback_of``: on the SMS, the WhatsApp message it stands in for.
``smsc_receipts.reason``: the failure reason a carrier named (WhatsApp's ``window_closed``),
kept with a status that came before its message id was stored.
``whatsapp_numbers``: per account, numbers the Cloud API showed to be on WhatsApp
(delivered, read, wrote to us) or not (error 131026); ``wa_phone_check`` answers from it.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from postino.db.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "fallbacks",
        sa.Column("message_id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("fallback_message_id", Id, nullable=True),
        sa.Column("detail", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], name="fk_fallbacks_message_id_messages", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id", name="pk_fallbacks"),
    )
    op.create_index("ix_fallbacks_state_due", "fallbacks", ["state", "due_at"])
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("fallback_of", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("smsc_receipts") as batch:
        batch.add_column(sa.Column("reason", sa.String(32), nullable=True))
    op.create_table(
        "whatsapp_numbers",
        sa.Column("account_id", Id, nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("on_whatsapp", sa.Boolean(), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_whatsapp_numbers_account_id_accounts", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "number", name="pk_whatsapp_numbers"),
    )


def downgrade() -> None:
    op.drop_table("whatsapp_numbers")
    with op.batch_alter_table("smsc_receipts") as batch:
        batch.drop_column("reason")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("fallback_of")
    op.drop_index("ix_fallbacks_state_due", table_name="fallbacks")
    op.drop_table("fallbacks")
