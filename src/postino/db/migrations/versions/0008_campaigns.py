"""Campaigns that stream, pace and pause; opt-outs every channel respects.

``campaigns`` gains what a streamed expansion needs to survive a crash and what the
release job reads on every tick:

- ``cursor_list`` / ``cursor_contact``: the list (index into ``tag_ids``) and the last
  contact id of it already expanded; a restart continues after them;
- ``expanded_at``: set once every list has been read;
- ``written`` / ``released`` / ``released_seq``: messages written as drafts, and how many
  (up to which ``seq``) have been handed to the queue (or canceled), so a release reads
  only the drafts after ``released_seq`` through ``ix_messages_batch``;
- ``done_seq``: every message before it has reached a final state, so the finish check
  reads only the newer ones;
- ``opted_out`` / ``duplicates_skipped``: counted as the lists are read;
- ``window_start`` / ``window_end`` (minutes after midnight in the account's time zone),
  ``pace`` (messages per minute), ``pace_tokens`` / ``paced_at`` (the pace's bucket);
- ``options``: what each message carries besides its body (sender, urgent, forced UCS-2,
  the push-report fields a dialect adds);
- ``error``, ``started_at``, ``finished_at``, ``updated_at``.

``campaign_recipients`` is keyed by (campaign, phone): a phone is written once per
campaign whatever the lists, the crash or the node. Its ``seq`` finds the number's
message through ``ix_messages_batch`` (NULL: the number had opted out). ``optouts`` is the account's list
(one row per number), ``optout_events`` every change to it. ``contacts`` gets the index
the expansion pages through (``tag_id``, ``id``) and one by number.

Campaigns started before this migration (state ``started``) had all their messages
queued at once: they become ``running`` with everything counted as expanded and released.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from postino.db.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")

_COUNTERS = (
    "cursor_list", "written", "released", "released_seq", "done_seq", "opted_out", "duplicates_skipped",
)  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("window_start", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("window_end", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("pace", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("options", sa.JSON(), nullable=False, server_default="{}"))
        for name in _COUNTERS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("cursor_contact", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("expanded_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("pace_tokens", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("paced_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("error", sa.String(500), nullable=True))
        batch.add_column(sa.Column("started_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("finished_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("updated_at", UTCDateTime(), nullable=True))
        batch.create_index("ix_campaigns_account", ["account_id", "id"])
    op.execute(
        "UPDATE campaigns SET expanded_at = created_at, written = contacts, released = contacts, "
        "released_seq = contacts WHERE state IN ('started', 'finished', 'failed')"
    )
    op.execute("UPDATE campaigns SET state = 'running' WHERE state = 'started'")
    op.create_table(
        "campaign_recipients",
        sa.Column("campaign_id", Id, nullable=False),
        sa.Column("phone", sa.String(64), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_campaign_recipients_campaign_id_campaigns", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("campaign_id", "phone", name="pk_campaign_recipients"),
    )
    op.create_table(
        "optouts",
        sa.Column("account_id", Id, nullable=False),
        sa.Column("phone", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("keyword", sa.String(32), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_optouts_account_id_accounts", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "phone", name="pk_optouts"),
    )
    op.create_table(
        "optout_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("phone", sa.String(64), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("keyword", sa.String(32), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_optout_events_account_id_accounts", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_optout_events"),
    )
    op.create_index("ix_optout_events_account", "optout_events", ["account_id", "id"])
    op.create_index("ix_contacts_tag_id", "contacts", ["tag_id", "id"])
    op.create_index("ix_contacts_account_phone", "contacts", ["account_id", "phone"])


def downgrade() -> None:
    op.drop_index("ix_contacts_account_phone", table_name="contacts")
    op.drop_index("ix_contacts_tag_id", table_name="contacts")
    op.drop_index("ix_optout_events_account", table_name="optout_events")
    op.drop_table("optout_events")
    op.drop_table("optouts")
    op.drop_table("campaign_recipients")
    op.execute("UPDATE campaigns SET state = 'started' WHERE state IN ('running', 'paused')")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_index("ix_campaigns_account")
        for name in (
            "updated_at", "finished_at", "started_at", "error", "paced_at", "pace_tokens", "expanded_at",
            "cursor_contact", *_COUNTERS, "options", "pace", "window_end", "window_start",
        ):  # fmt: skip
            batch.drop_column(name)
