"""Erasure and retention: a customer's personal data out of every table of the store.

An erasure deletes every row whose `customer_id` is the customer's, in every table that has
that column (a table added later is covered without a change here), and scrubs the id out of
the audit JSON that may quote it (MENTIONS), in one transaction. It records
who asked, when and how many rows went, with the customer as a digest, not the id: training
drops erased customers by that digest, and a second erasure finds nothing left and says so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import sqlalchemy as sa

from recsys.columns import Columns as C
from recsys.stores.errors import unavailable
from recsys.stores.migrate import upgrade
from recsys.stores.tables import erasures, metadata

ERASED: Final = "[erased]"  # what a scrubbed mention of the id becomes
_DIGEST_PREFIX: Final = b"recsys-erasure-v1:"
# text columns that may quote a customer id inside JSON (an offer's customer list in its audit)
MENTIONS: Final = {"offer_audit": ("before", "after")}


def subject_digest(customer_id: str) -> str:
    """The customer as the erasure log and training know them: a SHA-256 hex digest."""
    return hashlib.sha256(_DIGEST_PREFIX + customer_id.encode()).hexdigest()


@dataclass(frozen=True)
class Erasure:
    """What one erasure removed: rows deleted or scrubbed per table, and whether it is a repeat."""

    counts: Mapping[str, int]
    repeated: bool  # the customer had been erased before

    @property
    def total(self) -> int:
        """Rows removed or scrubbed in all."""
        return sum(self.counts.values())


def erase_customer(
    engine: sa.Engine, customer_id: str, *, actor: str, now: datetime | None = None
) -> Erasure:
    """Delete and scrub `customer_id` everywhere, and log the erasure; idempotent."""
    if not customer_id or not customer_id.strip():
        raise ValueError("customer id must not be empty")
    now = now or datetime.now(UTC)
    subject = subject_digest(customer_id)
    with unavailable("store", "erase a customer"):
        upgrade(engine)
        with engine.begin() as conn:
            seen = conn.execute(
                sa.select(sa.func.count()).where(erasures.c.subject == subject)
            ).scalar_one()
            counts = _delete_rows(conn, customer_id) | _scrub_mentions(conn, customer_id)
            counts = {table: n for table, n in counts.items() if n}
            conn.execute(
                erasures.insert().values(
                    subject=subject, actor=actor, at=now, counts=json.dumps(counts, sort_keys=True)
                )
            )
    return Erasure(counts, repeated=seen > 0)


def erased_subjects(engine: sa.Engine) -> set[str]:
    """Digests of every customer erased so far."""
    with unavailable("store", "read the erasures"):
        upgrade(engine)
        with engine.connect() as conn:
            return set(conn.execute(sa.select(erasures.c.subject).distinct()).scalars())


def prune(
    engine: sa.Engine,
    *,
    events_before: datetime | None,
    decisions_before: datetime | None,
) -> dict[str, int]:
    """Retention: delete events (by timestamp) and decisions (by time) older than the cutoffs."""
    tables = metadata.tables
    plan = (
        ("events", tables["events"].c[C.timestamp], events_before),
        ("decisions", tables["decisions"].c["at"], decisions_before),
    )
    out: dict[str, int] = {}
    with unavailable("store", "prune"):
        upgrade(engine)
        with engine.begin() as conn:
            for name, column, cutoff in plan:
                if cutoff is not None:
                    out[name] = conn.execute(tables[name].delete().where(column < cutoff)).rowcount
    return out


def _delete_rows(conn: sa.Connection, customer_id: str) -> dict[str, int]:
    """Rows of the customer, in every table keyed by customer id (children first)."""
    out = {}
    for table in reversed(metadata.sorted_tables):
        if C.customer_id in table.c:
            deleted = conn.execute(table.delete().where(table.c[C.customer_id] == customer_id))
            out[table.name] = deleted.rowcount
    return out


def _scrub_mentions(conn: sa.Connection, customer_id: str) -> dict[str, int]:
    """The id quoted as a JSON string in MENTIONS' columns becomes ERASED."""
    quoted = json.dumps(customer_id)
    pattern = "%" + _like_escaped(quoted) + "%"
    out: dict[str, int] = {}
    for name, columns in MENTIONS.items():
        table = metadata.tables[name]
        for column in (table.c[c] for c in columns):
            scrubbed = conn.execute(
                table.update()
                .where(column.like(pattern, escape="\\"))
                .values({column.name: sa.func.replace(column, quoted, json.dumps(ERASED))})
            )
            out[name] = out.get(name, 0) + scrubbed.rowcount
    return out


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
