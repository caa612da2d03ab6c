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
    # every Recommend reads "this customer's events since the snapshot"
    sa.Index("ix_events_customer_timestamp", C.customer_id, C.timestamp),
)
