"""Indexes for getallsms over millions of messages: by customer id, and by device or
state within a date range.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_account_customer", "messages", ["account_id", "customer_id"], unique=False)
    op.create_index(
        "ix_messages_account_device_created", "messages", ["account_id", "device_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_messages_account_state_created", "messages", ["account_id", "state", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_messages_account_state_created", table_name="messages")
    op.drop_index("ix_messages_account_device_created", table_name="messages")
    op.drop_index("ix_messages_account_customer", table_name="messages")
