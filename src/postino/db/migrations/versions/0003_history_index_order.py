"""getallsms indexes that serve the page order and cover the count, and campaigns by batch.

Each history index now ends with ``created_at`` (then the id), so a page of a filter by
phone, customer id, device or state walks its index in order and stops at the limit
instead of sorting every match. The device and state indexes also carry the other
filters (state, failure reason, sim), so ``onlycount`` and the page total read no table
rows. ``ix_campaigns_batch`` serves the page's join to the campaign of each batch.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_messages_account_recipient_created", "messages", ["account_id", "recipient", "created_at"], unique=False
    )
    op.create_index(
        "ix_messages_account_customer_created", "messages", ["account_id", "customer_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_messages_account_device_history",
        "messages",
        ["account_id", "device_id", "created_at", "id", "state", "reason", "slot"],
        unique=False,
    )
    op.create_index(
        "ix_messages_account_state_history",
        "messages",
        ["account_id", "state", "created_at", "id", "slot", "reason"],
        unique=False,
    )
    op.create_index("ix_campaigns_batch", "campaigns", ["batch_id"], unique=False)
    op.drop_index("ix_messages_account_recipient", table_name="messages")
    op.drop_index("ix_messages_account_customer", table_name="messages")
    op.drop_index("ix_messages_account_device_created", table_name="messages")
    op.drop_index("ix_messages_account_state_created", table_name="messages")


def downgrade() -> None:
    op.create_index("ix_messages_account_recipient", "messages", ["account_id", "recipient"], unique=False)
    op.create_index("ix_messages_account_customer", "messages", ["account_id", "customer_id"], unique=False)
    op.create_index(
        "ix_messages_account_device_created", "messages", ["account_id", "device_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_messages_account_state_created", "messages", ["account_id", "state", "created_at"], unique=False
    )
    op.drop_index("ix_campaigns_batch", table_name="campaigns")
    op.drop_index("ix_messages_account_state_history", table_name="messages")
    op.drop_index("ix_messages_account_device_history", table_name="messages")
    op.drop_index("ix_messages_account_customer_created", table_name="messages")
    op.drop_index("ix_messages_account_recipient_created", table_name="messages")
