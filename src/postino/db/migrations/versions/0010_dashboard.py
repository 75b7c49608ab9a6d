"""The dashboard: signed-in browsers, and operators.

- ``dashboard_sessions``: one row per browser signed in to the dashboard. The cookie
  holds a random secret; the row is keyed by its SHA-256 (``id_hash``), so a copy of the
  database opens no session. ``last_seen_at`` drives the idle expiry; the index on it
  lets the expired ones be deleted without a scan.
- ``accounts.operator``: the account runs the instance; its dashboard shows every
  account, the connectors and routes, and can top up. False for every existing account.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from postino.db.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("operator", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "dashboard_sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("user_agent", sa.String(200), nullable=False, server_default=""),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_dashboard_sessions_account_id_accounts", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id_hash", name="pk_dashboard_sessions"),
    )
    op.create_index("ix_dashboard_sessions_account", "dashboard_sessions", ["account_id"])
    op.create_index("ix_dashboard_sessions_last_seen", "dashboard_sessions", ["last_seen_at"])


def downgrade() -> None:
    op.drop_index("ix_dashboard_sessions_last_seen", table_name="dashboard_sessions")
    op.drop_index("ix_dashboard_sessions_account", table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("operator")
