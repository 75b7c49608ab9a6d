"""An index for the validity job: only messages that have a validity, by state and its end.

``expire_overdue`` runs every scheduler tick inside a write transaction. Without this
index it walked every queued message to find the few with a ``valid_until``, so a
backlog of hundreds of thousands of queued messages (a phone offline for a day) held
the write lock for a quarter of a second each tick and stalled every send.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_messages_state_valid_until",
        "messages",
        ["state", "valid_until"],
        unique=False,
        sqlite_where=sa.text("valid_until IS NOT NULL"),
        postgresql_where=sa.text("valid_until IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_state_valid_until", table_name="messages")
