"""Every table of Postino, in SQLAlchemy Core.

Core (not the ORM) because the hot paths are set-based: claim a hundred messages in one
statement, insert ten thousand in one ``executemany``. One schema serves SQLite and
PostgreSQL; migrations in ``migrations/`` create it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from .types import Money, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BigInteger ids that still autoincrement on SQLite (which only does it for INTEGER).
Id = BigInteger().with_variant(Integer, "sqlite")

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("country", String(2), nullable=False, default="US"),
    Column("credit_enforced", Boolean, nullable=False, default=False),
    Column("settings", JSON, nullable=False, default=dict),
    Column("created_at", UTCDateTime, nullable=False),
    Column("operator", Boolean, nullable=False, default=False),  # runs the instance: sees every account (dashboard)
)

dashboard_sessions = Table(
    "dashboard_sessions",  # browsers signed in to the dashboard (core/accounts/sessions.py)
    metadata,
    Column("id_hash", String(64), primary_key=True),  # SHA-256 of the cookie's secret, never the secret
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("user_agent", String(200), nullable=False, default=""),
    Index("ix_dashboard_sessions_account", "account_id"),
    Index("ix_dashboard_sessions_last_seen", "last_seen_at"),
)

credentials = Table(
    "credentials",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(24), nullable=False),  # sg24 | bearer | api_key | device_registration
    Column("name", String(200), nullable=False, default=""),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("hint", String(16), nullable=False, default=""),
    Column("scopes", JSON, nullable=False, default=list),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Index("ix_credentials_account_kind", "account_id", "kind"),
)

balances = Table(
    "balances",
    metadata,
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("product", String(16), primary_key=True),  # sms | wa | hlr | sim | pulsa
    Column("amount", Money, nullable=False, default=0),
    Column("expires_at", UTCDateTime, nullable=True),
)

ledger = Table(
    "ledger",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("product", String(16), nullable=False),
    Column("kind", String(16), nullable=False),  # topup | debit | refund
    Column("amount", Money, nullable=False),  # signed: debits negative
    Column("batch_id", BigInteger, nullable=True),
    Column("message_id", BigInteger, nullable=True),
    Column("note", String(200), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_ledger_account_product", "account_id", "product"),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("ext_id", String(32), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False, default=""),
    Column("push_token", String(500), nullable=True),
    Column("sim_cards", JSON, nullable=False, default=list),
    Column("app_version", String(64), nullable=False, default=""),
    Column("imei", String(32), nullable=False, default=""),
    Column("serial_number", String(64), nullable=False, default=""),
    Column("delay_between_sms", Integer, nullable=False, default=0),
    Column("delay_between_request", Integer, nullable=False, default=0),
    Column("settings", JSON, nullable=False, default=dict),
    Column("webhook_key", String(128), nullable=False, default=""),  # the phone's HMAC key, sealed (accounts.sealed)
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=True),
    Column("offline_notified", Boolean, nullable=False, default=False),
    Column("deleted_at", UTCDateTime, nullable=True),
)

def _only_with(column: str) -> dict[str, Any]:
    """A partial index's condition on both engines: only the rows where ``column`` has a value."""
    where = f"{column} IS NOT NULL"
    return {"sqlite_where": text(where), "postgresql_where": text(where)}


batches = Table(
    "batches",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("public_id", String(32), nullable=True, unique=True),
    Column("title", String(200), nullable=False, default=""),
    Column("data", JSON, nullable=False, default=dict),
    Column("state", String(16), nullable=False, default="open"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_batches_account_kind", "account_id", "kind"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("batch_id", ForeignKey("batches.id", ondelete="SET NULL"), nullable=True),
    Column("direction", String(3), nullable=False, default="out"),  # out | in
    Column("channel", String(16), nullable=False, default="sms"),  # sms | whatsapp | rcs
    Column("device_id", ForeignKey("devices.id", ondelete="SET NULL"), nullable=True),
    Column("slot", Integer, nullable=True),
    Column("connector", String(64), nullable=True),
    Column("connector_id", BigInteger, nullable=True),  # the connector a routed message waits for
    Column("recipient", String(64), nullable=False),  # normalised (E.164 where possible)
    Column("recipient_raw", String(128), nullable=False, default=""),  # as the user sent it
    Column("sender", String(64), nullable=False, default=""),
    Column("body", Text, nullable=False, default=""),
    Column("media_url", String(1000), nullable=True),
    Column("encoding", String(8), nullable=False, default="gsm"),
    Column("segments", Integer, nullable=False, default=1),
    Column("state", String(16), nullable=False),
    Column("reason", String(32), nullable=True),
    Column("error", String(500), nullable=True),
    Column("urgent", Boolean, nullable=False, default=False),
    Column("priority", Float, nullable=False, default=1.0),
    Column("due_at", UTCDateTime, nullable=True),
    Column("valid_until", UTCDateTime, nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("customer_id", String(64), nullable=True),
    Column("price", Money, nullable=False, default=0),
    Column("product", String(16), nullable=False, default="sms"),
    Column("fields", JSON, nullable=True),
    Column("extra", JSON, nullable=True),
    Column("seq", Integer, nullable=False, default=0),  # position inside its batch
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("read_at", UTCDateTime, nullable=True),
    Column("fallback_of", BigInteger, nullable=True),  # on an SMS sent in place of a WhatsApp message: that message
    # The claim query: one device's queued messages in queue order.
    Index("ix_messages_queue", "device_id", "state", "urgent", "priority", "id"),
    Index("ix_messages_account_created", "account_id", "created_at"),
    # Partial where most messages have no value: a single send (no batch, not scheduled,
    # often no customer id) writes none of these b-trees. Every query that reads them
    # compares the column, which implies IS NOT NULL on both engines (migration 0011).
    Index("ix_messages_batch", "batch_id", "seq", **_only_with("batch_id")),
    Index("ix_messages_state_due", "state", "due_at", **_only_with("due_at")),
    Index("ix_messages_state_lease", "state", "lease_until"),
    # The validity job looks only at messages that have a validity: a backlog of queued
    # messages without one (a phone offline for hours) must not be scanned every second.
    Index(
        "ix_messages_state_valid_until",
        "state",
        "valid_until",
        **_only_with("valid_until"),
    ),
    # getallsms over millions of rows: each filter has an index that ends with ``created_at``
    # then the id, so a page reads its rows in history order and stops at its limit (no
    # sort of every match). By phone (``recipient``) and by customer id:
    Index("ix_messages_account_recipient_created", "account_id", "recipient", "created_at"),
    Index(
        "ix_messages_account_customer_created", "account_id", "customer_id", "created_at", **_only_with("customer_id")
    ),
    # By device or by state in a date range; the trailing columns are the other filters
    # (status, failure reason, sim), so counting a filter reads only the index. ``id`` is
    # written out: SQLite keeps the row id after an index's last column, so without it
    # the extra columns would come between ``created_at`` and the id and break the order.
    Index(
        "ix_messages_account_device_history", "account_id", "device_id", "created_at", "id", "state", "reason", "slot"
    ),
    Index("ix_messages_account_state_history", "account_id", "state", "created_at", "id", "slot", "reason"),
    # A connector's claim, like ``ix_messages_queue`` for a phone; partial, so messages for
    # phones (connector_id NULL) cost the send path nothing.
    Index(
        "ix_messages_connector_queue",
        "connector_id",
        "state",
        "urgent",
        "priority",
        "id",
        **_only_with("connector_id"),
    ),
)

message_events = Table(
    "message_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("message_id", ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("detail", String(500), nullable=True),
    Index("ix_message_events_message", "message_id", "id"),
)

tags = Table(
    "tags",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_tags_account_title", "account_id", "title"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), nullable=False),
    Column("phone", String(64), nullable=False),
    Column("fullname", String(200), nullable=False, default=""),
    Column("fields", JSON, nullable=False, default=dict),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("tag_id", "phone"),
    # A campaign reads a list in id order, a few thousand at a time (keyset pages).
    Index("ix_contacts_tag_id", "tag_id", "id"),
    # "Which lists hold this number", and searches by number across the account.
    Index("ix_contacts_account_phone", "account_id", "phone"),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("device_id", ForeignKey("devices.id", ondelete="SET NULL"), nullable=True),
    Column("slot", Integer, nullable=True),
    Column("channel", String(16), nullable=False, default="sms"),
    Column("tag_ids", JSON, nullable=False, default=list),
    Column("send_at", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False, default="scheduled"),  # see core/contacts/campaigns.py, STATES
    Column("batch_id", ForeignKey("batches.id", ondelete="SET NULL"), nullable=True),
    Column("contacts", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    # Migration 0008 says why each of these is kept:
    Column("window_start", Integer, nullable=True),  # minutes after midnight, account's time zone
    Column("window_end", Integer, nullable=True),
    Column("pace", Integer, nullable=True),  # messages per minute; None = as fast as the queue takes them
    Column("options", JSON, nullable=False, default=dict),  # sender, urgent, force_unicode, extra of each message
    Column("cursor_list", Integer, nullable=False, default=0),
    Column("cursor_contact", BigInteger, nullable=False, default=0),
    Column("expanded_at", UTCDateTime, nullable=True),
    Column("written", Integer, nullable=False, default=0),
    Column("released", Integer, nullable=False, default=0),
    Column("released_seq", Integer, nullable=False, default=0),
    Column("done_seq", Integer, nullable=False, default=0),
    Column("opted_out", Integer, nullable=False, default=0),
    Column("duplicates_skipped", Integer, nullable=False, default=0),
    Column("pace_tokens", Float, nullable=False, default=0.0),
    Column("paced_at", UTCDateTime, nullable=True),
    Column("error", String(500), nullable=True),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=True),
    Index("ix_campaigns_state_send_at", "state", "send_at"),
    # History pages join each message to the campaign of its batch.
    Index("ix_campaigns_batch", "batch_id"),
    Index("ix_campaigns_account", "account_id", "id"),
)

campaign_recipients = Table(
    "campaign_recipients",  # who a campaign reached: the key that makes a phone get one message
    metadata,
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("phone", String(64), primary_key=True),
    Column("contact_id", BigInteger, nullable=True),  # the entry whose name and fields filled the body
    Column("seq", Integer, nullable=True),  # its message: (campaign's batch_id, seq), indexed; None: opted out
)

optouts = Table(
    "optouts",  # numbers an account may not message in campaigns (nor at all with optout_policy "all")
    metadata,
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("phone", String(64), primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("channel", String(16), nullable=False, default=""),  # sms | whatsapp | rcs; "" when an operator added it
    Column("source", String(16), nullable=False),  # keyword | operator | api
    Column("keyword", String(32), nullable=True),
    Column("message_id", BigInteger, nullable=True),  # the inbound message that asked
    Column("actor", String(320), nullable=False, default=""),  # who, when not the number itself
)

optout_events = Table(
    "optout_events",  # every change of the list, kept and exportable
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("phone", String(64), nullable=False),
    Column("action", String(8), nullable=False),  # out | in
    Column("at", UTCDateTime, nullable=False),
    Column("channel", String(16), nullable=False, default=""),
    Column("source", String(16), nullable=False),
    Column("keyword", String(32), nullable=True),
    Column("message_id", BigInteger, nullable=True),
    Column("actor", String(320), nullable=False, default=""),
    Index("ix_optout_events_account", "account_id", "id"),
)

media = Table(
    "media",
    metadata,
    Column("id", String(64), primary_key=True),  # unguessable, part of the public URL
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("file_name", String(200), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
)

one_time_codes = Table(
    "one_time_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("valid_until", UTCDateTime, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("event", String(64), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("form_field", String(100), nullable=True),  # send as form field <name>=<json> instead of a JSON body
    Column("secret", String(1200), nullable=True),  # HMAC key, sealed (core.accounts.sealed); None = unsigned
    Column("order_key", String(64), nullable=True),  # deliveries with one key go out in id order
    Column("message_id", BigInteger, nullable=True),
    Column("webhook_id", BigInteger, nullable=True),
    Column("signature", String(16), nullable=True),  # None: X-Postino-Signature; "app": X-Signature as the phone app signs
    Column("state", String(16), nullable=False, default="pending"),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("deadline", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    Index("ix_outbox_state_next", "state", "next_attempt_at"),
    Index("ix_outbox_order", "order_key", "id"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("events", JSON, nullable=False, default=list),
    Column("secret", String(1200), nullable=False),  # the HMAC key, sealed: it signs every POST, so it is not hashed
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_webhooks_account", "account_id"),
)

app_webhooks = Table(
    "app_webhooks",  # webhooks in the phone app's format: one event each, an optional device
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("ext_id", String(64), nullable=False),  # the id the API user gave or was given
    Column("device_id", ForeignKey("devices.id", ondelete="CASCADE"), nullable=True),
    Column("url", String(2000), nullable=False),
    Column("event", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("account_id", "ext_id"),
)

outbox_attempts = Table(
    "outbox_attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("outbox_id", ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),  # None: no HTTP answer (refused, timeout, blocked)
    Column("error", String(500), nullable=True),
    Column("duration_ms", Integer, nullable=False, default=0),
    Index("ix_outbox_attempts_outbox", "outbox_id", "attempt"),
)

quota_marks = Table(
    "quota_marks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(32), nullable=False),  # what was used, e.g. "realtime"
    Column("at", UTCDateTime, nullable=False),
    Index("ix_quota_marks_account_key_at", "account_id", "key", "at"),
)

connectors = Table(
    "connectors",  # what an account sends through besides its phones (migration 0007 says why each column)
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("kind", String(24), nullable=False),  # smpp | whatsapp_cloud | simulator
    Column("config", JSON, nullable=False, default=dict),  # host, port, window, tps … (no secrets)
    Column("secrets", String(4000), nullable=False, default=""),  # JSON of the secrets, sealed
    Column("state", String(16), nullable=False, default="down"),  # down | binding | bound, as last reported
    Column("state_detail", String(200), nullable=False, default=""),
    Column("up_until", UTCDateTime, nullable=True),  # the serving node renews it while bound
    Column("queue_depth", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("account_id", "name"),
)

routes = Table(
    "routes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("prefixes", JSON, nullable=False, default=list),  # E.164 prefixes without '+'; [] = any
    Column("otp", Boolean, nullable=False, default=False),  # only messages flagged OTP
    Column("slot", Integer, nullable=True),  # serves SG24 ``sim`` N instead of a phone's slot
    Column("targets", JSON, nullable=False, default=list),  # [{"connector_id", "weight"}]
    Column("fallback_channel", String(16), nullable=True),
    Column("fallback_after", Integer, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_routes_account_position", "account_id", "position"),
)

smsc_ids = Table(
    "smsc_ids",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("connector_id", ForeignKey("connectors.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(80), nullable=False),  # the id normalised (case-folded, no leading zeros)
    Column("raw", String(80), nullable=False),  # as submit_sm_resp gave it
    Column("message_id", ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("part", Integer, nullable=False),
    Column("parts", Integer, nullable=False),
    Column("state", String(16), nullable=True),  # the part's receipt, once one came
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_smsc_ids_connector_key", "connector_id", "key"),
    Index("ix_smsc_ids_message", "message_id"),
)

smsc_receipts = Table(
    "smsc_receipts",  # receipts that arrived before their id was stored
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("connector_id", ForeignKey("connectors.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(80), nullable=False),
    Column("forms", String(250), nullable=False, default=""),  # every form its id may take, space-separated
    Column("stat", String(16), nullable=False),
    Column("error", String(64), nullable=False, default=""),
    Column("reason", String(32), nullable=True),  # the failure reason the carrier named, if any
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_smsc_receipts_connector_key", "connector_id", "key"),
)

inbound_parts = Table(
    "inbound_parts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("connector_id", ForeignKey("connectors.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(64), nullable=False),
    Column("destination", String(64), nullable=False),
    Column("ref", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("connector_id", "source", "ref", "seq"),
)

fallbacks = Table(
    "fallbacks",  # WhatsApp messages sent by a route with a fallback channel (migration 0009 says why)
    metadata,
    Column("message_id", ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("account_id", Id, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("due_at", UTCDateTime, nullable=True),
    Column("state", String(16), nullable=False),  # waiting | done | skipped | refused
    Column("fallback_message_id", Id, nullable=True),
    Column("detail", String(200), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_fallbacks_state_due", "state", "due_at"),
)

whatsapp_numbers = Table(
    "whatsapp_numbers",  # what the Cloud API showed of a number: on WhatsApp or not
    metadata,
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("number", String(32), primary_key=True),
    Column("on_whatsapp", Boolean, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
)
