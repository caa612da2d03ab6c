"""Table definitions of the operational store, in one place so migrations can follow them.

Timestamps are stored in UTC: `timestamptz` on PostgreSQL, SQLAlchemy's fixed-width text form
(`YYYY-MM-DD HH:MM:SS.ffffff`, which sorts and compares correctly) on SQLite.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

from recsys.columns import Columns as C

ID_LENGTH: Final = 128  # customer, product, request and offer ids
NAME_LENGTH: Final = 64  # event types and channel names
# Event-log columns beyond the canonical events table (not in recsys.columns.Columns yet).
EVENT_ID: Final = "id"
REQUEST_ID: Final = "request_id"
OFFER_ID: Final = "offer_id"
RECORDED_AT: Final = "recorded_at"
# Who sent an event (the API key's id; "" with authentication off) and the id it gave the
# event: unique together, so a retried RecordEvents stores nothing twice (NULL ids never clash).
SOURCE: Final = "source"
CLIENT_EVENT_ID: Final = "event_id"

metadata = sa.MetaData()

# BIGINT on PostgreSQL; SQLite only autoincrements a column declared exactly INTEGER.
_EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

events = sa.Table(
    "events",
    metadata,
    sa.Column(EVENT_ID, _EVENT_ID, primary_key=True, autoincrement=True),
    sa.Column(C.customer_id, sa.String(ID_LENGTH), nullable=False),
    sa.Column(C.product_id, sa.String(ID_LENGTH), nullable=False),
    sa.Column(C.event, sa.String(NAME_LENGTH), nullable=False),
    sa.Column(C.timestamp, sa.DateTime(timezone=True), nullable=False),
    sa.Column(C.channel, sa.String(NAME_LENGTH), nullable=True),
    sa.Column(C.amount, sa.Double(), nullable=True),
    sa.Column(REQUEST_ID, sa.String(ID_LENGTH), nullable=True),
    sa.Column(OFFER_ID, sa.String(ID_LENGTH), nullable=True),
    sa.Column(RECORDED_AT, sa.DateTime(timezone=True), nullable=False),
    sa.Column(SOURCE, sa.String(ID_LENGTH), nullable=False, server_default=""),
    sa.Column(CLIENT_EVENT_ID, sa.String(ID_LENGTH), nullable=True),
    # every Recommend reads "this customer's events since the snapshot"
    sa.Index("ix_events_customer_timestamp", C.customer_id, C.timestamp),
    sa.Index("ux_events_source_event_id", SOURCE, CLIENT_EVENT_ID, unique=True),
    # exploration counts a few new products' events since the snapshot, every few seconds
    sa.Index("ix_events_product_timestamp", C.product_id, C.timestamp),
)

# --- offers (marketing campaigns) -----------------------------------------------------------
# List-valued targeting fields are JSON arrays in text columns: they are read whole by the
# offer book, never filtered on in SQL, and JSON text works the same on SQLite and PostgreSQL.
offers = sa.Table(
    "offers",
    metadata,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column(C.product_id, sa.String(ID_LENGTH), nullable=False),
    sa.Column("segments", sa.Text(), nullable=False, server_default="[]"),
    sa.Column("age_min", sa.Integer(), nullable=True),
    sa.Column("age_max", sa.Integer(), nullable=True),
    sa.Column("income_bands", sa.Text(), nullable=False, server_default="[]"),
    sa.Column("regions", sa.Text(), nullable=False, server_default="[]"),
    sa.Column("min_risk_tolerance", sa.Integer(), nullable=True),
    sa.Column("has_customer_list", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("channels", sa.Text(), nullable=False, server_default="[]"),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),  # boost | pin
    sa.Column("boost", sa.Double(), nullable=True),
    sa.Column("pin", sa.Integer(), nullable=True),
    sa.Column("max_share", sa.Double(), nullable=False, server_default="1.0"),
    sa.Column("cap_impressions", sa.Integer(), nullable=True),
    sa.Column("cap_days", sa.Integer(), nullable=True),
    sa.Column("volume_cap", sa.Integer(), nullable=True),
    sa.Column("volume_event", sa.String(NAME_LENGTH), nullable=False, server_default="impression"),
    sa.Column("priority", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("status", sa.String(16), nullable=False),  # draft | active | paused | ended
    sa.Column("created_by", sa.String(ID_LENGTH), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_by", sa.String(ID_LENGTH), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revision", sa.Integer(), nullable=False, server_default="1"),
    sa.UniqueConstraint("name", name="uq_offers_name"),
)

# The explicit customer list of an offer (from a file), one row per customer.
offer_customers = sa.Table(
    "offer_customers",
    metadata,
    sa.Column(
        "offer_id",
        sa.String(ID_LENGTH),
        sa.ForeignKey("offers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(C.customer_id, sa.String(ID_LENGTH), primary_key=True),
)

# Every change to an offer: who, what, the row before and after (JSON), when.
offer_audit = sa.Table(
    "offer_audit",
    metadata,
    sa.Column("id", _EVENT_ID, primary_key=True, autoincrement=True),
    sa.Column("offer_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(ID_LENGTH), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("before", sa.Text(), nullable=True),
    sa.Column("after", sa.Text(), nullable=True),
    sa.Index("ix_offer_audit_offer", "offer_id", "at"),
)

# Slots an offer took in a Recommend answer, reserved before the answer leaves the server, so
# that caps hold across server processes before the channel reports the impression.
offer_deliveries = sa.Table(
    "offer_deliveries",
    metadata,
    sa.Column("id", _EVENT_ID, primary_key=True, autoincrement=True),
    sa.Column("offer_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column(C.customer_id, sa.String(ID_LENGTH), nullable=False),
    sa.Column(REQUEST_ID, sa.String(ID_LENGTH), nullable=False),
    sa.Column(C.channel, sa.String(NAME_LENGTH), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_offer_deliveries_offer_customer", "offer_id", C.customer_id, "at"),
    sa.Index("ix_offer_deliveries_request", REQUEST_ID),
)

# --- outbound campaigns ------------------------------------------------------------------------
# One row per product of an outbound contact (a message carries up to k of them, all under one
# request id): the campaign's deliveries, which the contact policy counts and events report on.
contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", _EVENT_ID, primary_key=True, autoincrement=True),
    sa.Column("campaign", sa.String(ID_LENGTH), nullable=False),
    sa.Column("run_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column(REQUEST_ID, sa.String(ID_LENGTH), nullable=False),
    sa.Column(C.customer_id, sa.String(ID_LENGTH), nullable=False),
    sa.Column(C.channel, sa.String(NAME_LENGTH), nullable=False),
    sa.Column(C.product_id, sa.String(ID_LENGTH), nullable=False),
    sa.Column(OFFER_ID, sa.String(ID_LENGTH), nullable=True),
    sa.Column("rank", sa.Integer(), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_contacts_customer_at", C.customer_id, "at"),
    sa.Index("ix_contacts_campaign", "campaign"),
    sa.Index("ix_contacts_request", REQUEST_ID),
)

# A row per customer a campaign has contacted: reserving contacts updates these rows first (a
# row lock on PostgreSQL, the write lock on SQLite), so two processes contacting the same
# customer queue up and the second recounts what the first wrote.
contact_locks = sa.Table(
    "contact_locks",
    metadata,
    sa.Column(C.customer_id, sa.String(ID_LENGTH), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

# --- security and audit -----------------------------------------------------------------------
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),  # public key id (prefix of the key)
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("salt", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(128), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("name", name="uq_api_keys_name"),
)

# One row per Recommend answer (the decision log): what was shown, and why.
decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", _EVENT_ID, primary_key=True, autoincrement=True),
    sa.Column(REQUEST_ID, sa.String(ID_LENGTH), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column(C.customer_id, sa.String(ID_LENGTH), nullable=False),
    sa.Column(C.channel, sa.String(NAME_LENGTH), nullable=False),
    sa.Column("model_version", sa.String(ID_LENGTH), nullable=False),
    sa.Column("items", sa.Text(), nullable=False),  # JSON: product, rank, score, reasons, offer
    sa.Column("removed", sa.Text(), nullable=False),  # JSON: rule -> products it removed
    # the experiment and arm that answered ("" for none), whether the fallback model answered,
    # and the server's time on the answer (the report's guardrails read these)
    sa.Column("experiment_id", sa.String(ID_LENGTH), nullable=False, server_default=""),
    sa.Column("arm", sa.String(NAME_LENGTH), nullable=False, server_default=""),
    sa.Column("fallback", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("latency_ms", sa.Double(), nullable=True),
    # the snapshot knew the customer (False: an unknown customer, answered without history)
    sa.Column("known", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Index("ix_decisions_customer_at", C.customer_id, "at"),
    sa.Index("ix_decisions_at", "at"),
    sa.Index("ix_decisions_experiment", "experiment_id", "at"),
)

# --- experiments (issue 17) -------------------------------------------------------------------
# Arms are a JSON array of {name, share}: read whole, never filtered on in SQL.
experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("arms", sa.Text(), nullable=False),
    sa.Column("channels", sa.Text(), nullable=False, server_default="[]"),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("challenger", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("control_policy", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("attribution_days", sa.Double(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # running | stopped | concluded
    sa.Column("concluded", sa.Text(), nullable=False, server_default=""),
    sa.Column("created_by", sa.String(ID_LENGTH), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_by", sa.String(ID_LENGTH), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revision", sa.Integer(), nullable=False, server_default="1"),
    sa.UniqueConstraint("name", name="uq_experiments_name"),
)

# Every change to an experiment, as offer_audit keeps offers': who, what, before and after.
experiment_audit = sa.Table(
    "experiment_audit",
    metadata,
    sa.Column("id", _EVENT_ID, primary_key=True, autoincrement=True),
    sa.Column("experiment_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(ID_LENGTH), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("before", sa.Text(), nullable=True),
    sa.Column("after", sa.Text(), nullable=True),
    sa.Column("note", sa.Text(), nullable=False, server_default=""),
    sa.Index("ix_experiment_audit_experiment", "experiment_id", "at"),
)

# One row per erasure of a customer's personal data (GDPR art. 17, PIPL art. 47): who asked,
# when, how many rows went from each table. `subject` is a keyed digest of the customer id, not
# the id: it lets training and a repeated erasure recognise the customer without keeping who.
erasures = sa.Table(
    "erasures",
    metadata,
    sa.Column("id", _EVENT_ID, primary_key=True, autoincrement=True),
    sa.Column("subject", sa.String(64), nullable=False),
    sa.Column("actor", sa.String(ID_LENGTH), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("counts", sa.Text(), nullable=False),  # JSON: table -> rows removed or scrubbed
    sa.Index("ix_erasures_subject", "subject"),
)

# An event that has been matched to an impression is no longer a pending delivery; this index
# serves that lookup (events by request id).
sa.Index("ix_events_request_id", events.c[REQUEST_ID])
