"""Offers in SQL: CRUD with an audit trail, live offers for the server, caps and delivered slots.

Caps hold across server processes because a slot is reserved in the store before the answer
leaves the server: `reserve` locks the offer's row (an UPDATE: a row lock on PostgreSQL, the
write lock on SQLite), recounts and inserts the delivery in one transaction. An exposure is a
reported impression, or a delivery still waiting for its impression (younger than the hold).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa

from recsys.columns import Columns as C
from recsys.offers.model import (
    Action,
    FrequencyCap,
    Offer,
    OfferProblem,
    Status,
    Target,
    VolumeEvent,
)
from recsys.offers.stats import CapUse
from recsys.stores import sql_offer_measures as measures
from recsys.stores.db import SQLITE, make_engine
from recsys.stores.errors import unavailable
from recsys.stores.migrate import upgrade
from recsys.stores.tables import (
    OFFER_ID,
    REQUEST_ID,
    events,
    offer_audit,
    offer_customers,
    offer_deliveries,
    offers,
)

IMPRESSION: Final = "impression"
CUSTOMERS_PER_INSERT: Final = 5_000
# a customer list of at most this many ids is quoted whole in the audit, a longer one by size
# and digest (an audit row stays small)
AUDITED_CUSTOMERS: Final = 20
# Allowed status moves; ended is final.
TRANSITIONS: Final = {
    Status.draft: {Status.active, Status.ended},
    Status.active: {Status.paused, Status.ended},
    Status.paused: {Status.active, Status.ended},
    Status.ended: set(),
}


class OfferNotFound(LookupError):
    """No offer with that id."""


class OfferConflict(ValueError):
    """The change clashes with the stored state (duplicate name, stale revision, bad move)."""


@dataclass(frozen=True)
class Exposure:
    """Exposures of offers to customers, for checking caps before placing them."""

    per_customer: dict[tuple[str, str], int]  # (offer id, customer id) -> exposures in window
    total: dict[str, int]  # offer id -> volume-cap count


@dataclass(frozen=True)
class Delivery:
    """A slot an offer took in an answer."""

    offer_id: str
    customer_id: str
    request_id: str
    channel: str
    at: datetime


@dataclass(frozen=True)
class AuditEntry:
    """One change of an offer."""

    offer_id: str
    action: str
    actor: str
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class OfferStore:
    """Offers, their audit trail and deliveries over SQLAlchemy (SQLite or PostgreSQL)."""

    def __init__(self, engine: sa.Engine, slots: sa.Engine | None = None) -> None:
        self.engine = engine
        # reservations (one commit per offer item served) may use an engine without an fsync
        # per commit: a reservation lost to a power cut costs at most one extra exposure
        self.slots = slots if slots is not None else engine

    def close(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()
        self.slots.dispose()

    # --- managing offers ---------------------------------------------------------------------
    def create(self, offer: Offer, actor: str, *, now: datetime | None = None) -> Offer:
        """Store a new offer (id, created/updated stamps assigned) and audit it."""
        now = _now(now)
        stored = offer.with_changes(
            id=f"off_{uuid.uuid4().hex[:12]}",
            created_by=actor,
            created_at=now,
            updated_by=actor,
            updated_at=now,
            revision=1,
        )
        with unavailable("offer store", "create offer"), self.engine.begin() as conn:
            self._check_name_free(conn, stored.name, None)
            conn.execute(offers.insert(), [_row(stored)])
            self._write_customers(conn, stored)
            _audit(conn, stored.id, "create", actor, now, None, stored)
        return stored

    def update(
        self,
        offer_id: str,
        actor: str,
        changes: dict[str, Any],
        *,
        expected_revision: int | None = None,
        now: datetime | None = None,
    ) -> Offer:
        """Apply `changes` (Offer field names) to an offer, re-checked, audited, revision + 1."""
        now = _now(now)
        forbidden = {"id", "created_by", "created_at", "updated_by", "updated_at", "revision"}
        bad = sorted(forbidden & set(changes))
        if bad:
            raise OfferProblem(bad[0], "is set by the store, not by an update")
        with unavailable("offer store", "update offer"), self.engine.begin() as conn:
            before = self._locked(conn, offer_id)
            if expected_revision is not None and before.revision != expected_revision:
                raise OfferConflict(
                    f"offer {offer_id}: changed meanwhile (revision {before.revision}, "
                    f"expected {expected_revision}); read it again"
                )
            if "status" in changes:
                _check_move(before, Status(changes["status"]))
            if before.status == Status.ended:
                raise OfferConflict(f"offer {offer_id}: ended offers cannot change")
            after = before.with_changes(
                **changes, updated_by=actor, updated_at=now, revision=before.revision + 1
            )
            if after.name != before.name:
                self._check_name_free(conn, after.name, offer_id)
            conn.execute(offers.update().where(offers.c.id == offer_id).values(**_row(after)))
            if "target" in changes and after.target.customers != before.target.customers:
                conn.execute(offer_customers.delete().where(offer_customers.c.offer_id == offer_id))
                self._write_customers(conn, after)
            action = f"status:{after.status}" if set(changes) == {"status"} else "update"
            _audit(conn, offer_id, action, actor, now, before, after)
        return after

    def set_status(self, offer_id: str, status: Status, actor: str, **kw: Any) -> Offer:
        """Move an offer to `status` (activate/resume, pause, end), audited."""
        return self.update(offer_id, actor, {"status": Status(status)}, **kw)

    def get(self, offer_id: str, *, with_customers: bool = False) -> Offer:
        """One offer; OfferNotFound when there is none."""
        with unavailable("offer store", "read offer"), self.engine.connect() as conn:
            row = conn.execute(offers.select().where(offers.c.id == offer_id)).mappings().first()
            if row is None:
                raise OfferNotFound(f"offer {offer_id!r} not found")
            customers = _customers(conn, [offer_id]) if with_customers else {}
        return _offer(row, customers.get(offer_id))

    def find(self, id_or_name: str) -> Offer:
        """An offer by id, or else by exact name."""
        try:
            return self.get(id_or_name)
        except OfferNotFound:
            with unavailable("offer store", "read offer"), self.engine.connect() as conn:
                query = offers.select().where(offers.c.name == id_or_name)
                row = conn.execute(query).mappings().first()
            if row is None:
                raise OfferNotFound(f"no offer with id or name {id_or_name!r}") from None
            return _offer(row, None)

    def list(self, status: Sequence[Status] = ()) -> list[Offer]:
        """Offers (optionally of these statuses), newest first."""
        query = offers.select().order_by(offers.c.created_at.desc(), offers.c.id)
        if status:
            query = query.where(offers.c.status.in_([str(s) for s in status]))
        with unavailable("offer store", "list offers"), self.engine.connect() as conn:
            return [_offer(r, None) for r in conn.execute(query).mappings()]

    def live(self, now: datetime) -> list[Offer]:
        """Active offers not yet over at `now`, with their customer lists (for the server)."""
        query = offers.select().where(
            offers.c.status == str(Status.active), offers.c.end_at > _utc(now)
        )
        with unavailable("offer store", "read live offers"), self.engine.connect() as conn:
            rows = list(conn.execute(query).mappings())
            listed = [r["id"] for r in rows if r["has_customer_list"]]
            customers = _customers(conn, listed) if listed else {}
        return [_offer(r, customers.get(r["id"])) for r in rows]

    def fingerprint(self) -> tuple[int, str]:
        """(count, newest update) of all offers: changes whenever any offer changes."""
        query = sa.select(
            sa.func.count(), sa.func.max(offers.c.updated_at), sa.func.sum(offers.c.revision)
        )
        with unavailable("offer store", "read offers"), self.engine.connect() as conn:
            count, newest, revisions = conn.execute(query).one()
        return int(count), f"{newest}|{revisions}"

    def history(self, offer_id: str) -> list[AuditEntry]:
        """Every audited change of an offer, oldest first."""
        query = (
            offer_audit.select()
            .where(offer_audit.c.offer_id == offer_id)
            .order_by(offer_audit.c.at, offer_audit.c.id)
        )
        with unavailable("offer store", "read offer audit"), self.engine.connect() as conn:
            rows = list(conn.execute(query).mappings())
        return [
            AuditEntry(
                offer_id=r["offer_id"],
                action=r["action"],
                actor=r["actor"],
                at=_utc(r["at"]),
                before=json.loads(r["before"]) if r["before"] else None,
                after=json.loads(r["after"]) if r["after"] else None,
            )
            for r in rows
        ]

    # --- caps ----------------------------------------------------------------------------------
    def exposures(
        self,
        offers_: Sequence[Offer],
        customer_ids: Collection[str],
        now: datetime,
        hold: timedelta,
    ) -> Exposure:
        """Frequency-cap exposures of these customers and volume-cap totals of these offers."""
        now = _utc(now)
        with unavailable("offer store", "count offer exposures"), self.engine.connect() as conn:
            return _exposures(conn, offers_, list(customer_ids), now, hold)

    def reserve(
        self,
        offer: Offer,
        customer_id: str,
        request_id: str,
        channel: str,
        now: datetime,
        hold: timedelta,
    ) -> bool:
        """Take one slot of `offer` for this customer if its caps allow it (atomic, durable)."""
        now = _utc(now)
        with unavailable("offer store", "reserve offer slot"), self.slots.begin() as conn:
            # the lock: concurrent reservations of this offer (any process) queue up here
            locked = conn.execute(
                offers.update()
                .where(offers.c.id == offer.id, offers.c.status == str(Status.active))
                .values(revision=offers.c.revision)
            )
            if locked.rowcount != 1:
                return False  # paused or ended meanwhile
            seen = _exposures(conn, [offer], [customer_id], now, hold)
            if not _within_caps(offer, customer_id, seen):
                return False
            conn.execute(
                offer_deliveries.insert(),
                [
                    {
                        "offer_id": offer.id,
                        C.customer_id: customer_id,
                        REQUEST_ID: request_id,
                        C.channel: channel,
                        "at": now,
                    }
                ],
            )
        return True

    def record_deliveries(self, rows: Sequence[Delivery]) -> int:
        """Store slots of uncapped offers (no cap to check: no lock, one batch insert)."""
        if not rows:
            return 0
        values = [
            {
                "offer_id": d.offer_id,
                C.customer_id: d.customer_id,
                REQUEST_ID: d.request_id,
                C.channel: d.channel,
                "at": _utc(d.at),
            }
            for d in rows
        ]
        with unavailable("offer store", "record deliveries"), self.slots.begin() as conn:
            conn.execute(offer_deliveries.insert(), values)
        return len(values)

    def deliveries(self, offer_id: str) -> int:
        """Slots this offer has taken in answers so far."""
        query = sa.select(sa.func.count()).where(offer_deliveries.c.offer_id == offer_id)
        with unavailable("offer store", "count deliveries"), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # --- measuring -----------------------------------------------------------------------------
    def event_counts(self, offer_id: str) -> list[tuple[str, str, int]]:
        """(channel, event type, count) of events attributed to the offer.

        Which events are the offer's: recsys.stores.sql_offer_measures._grouped.
        """
        offer = self.get(offer_id)
        return self.event_counts_of([offer])[offer.id]

    def event_counts_of(self, offers_: Sequence[Offer]) -> dict[str, list[tuple[str, str, int]]]:
        """offer id -> `event_counts` of each of these offers, in one pass over the store."""
        if not offers_:
            return {}
        products = {o.id: o.product_id for o in offers_}
        with unavailable("offer store", "count offer events"), self.engine.connect() as conn:
            found = measures.event_counts(conn, products)
        return {i: [(str(c), e, n) for c, e, n in rows] for i, rows in found.items()}

    def daily_counts(self, offer_id: str) -> list[tuple[date, str, int]]:
        """(UTC day, event type, count) of the offer's events, its served slots as 'served'."""
        offer = self.get(offer_id)
        with unavailable("offer store", "count offer events per day"), self.engine.connect() as c:
            return measures.daily_counts(c, offer_id, offer.product_id)

    def cap_use(self, offer: Offer, now: datetime, hold: timedelta) -> CapUse:
        """How much of its caps `offer` has used, counted as `reserve` counts them."""
        now = _utc(now)
        with unavailable("offer store", "count offer cap use"), self.engine.connect() as conn:
            if offer.cap is None:
                seen = _exposures(conn, [offer], [], now, hold)
                return CapUse(offer.volume_cap, seen.total.get(offer.id, 0))
            since = now - timedelta(days=offer.cap.days)
            exposed = measures.exposed_customers(conn, offer.id, since)
            at_cap, volume = 0, None
            for i in range(0, max(len(exposed), 1), CUSTOMERS_PER_INSERT):
                chunk = exposed[i : i + CUSTOMERS_PER_INSERT]
                seen = _exposures(conn, [offer], chunk, now, hold)
                volume = seen.total.get(offer.id, 0) if volume is None else volume
                at_cap += sum(n >= offer.cap.impressions for n in seen.per_customer.values())
        return CapUse(offer.volume_cap, volume or 0, len(exposed), at_cap)

    # --- helpers -------------------------------------------------------------------------------
    def _check_name_free(self, conn: sa.Connection, name: str, offer_id: str | None) -> None:
        query = sa.select(offers.c.id).where(offers.c.name == name)
        other = conn.execute(query).scalar()
        if other is not None and other != offer_id:
            raise OfferConflict(f"name: an offer named {name!r} exists already ({other})")

    def _locked(self, conn: sa.Connection, offer_id: str) -> Offer:
        # an UPDATE first takes the row (PostgreSQL) or database (SQLite) write lock
        touched = conn.execute(
            offers.update().where(offers.c.id == offer_id).values(revision=offers.c.revision)
        )
        if touched.rowcount != 1:
            raise OfferNotFound(f"offer {offer_id!r} not found")
        row = conn.execute(offers.select().where(offers.c.id == offer_id)).mappings().one()
        return _offer(row, _customers(conn, [offer_id]).get(offer_id))

    def _write_customers(self, conn: sa.Connection, offer: Offer) -> None:
        listed = offer.target.customers
        if not listed:
            return
        rows = [{"offer_id": offer.id, C.customer_id: c} for c in sorted(listed)]
        for i in range(0, len(rows), CUSTOMERS_PER_INSERT):
            conn.execute(offer_customers.insert(), rows[i : i + CUSTOMERS_PER_INSERT])


def open_offer_store(url: str) -> OfferStore:
    """An offer store on `url`, migrated to the newest schema."""
    engine = make_engine(url)
    with unavailable("offer store", "migrate the store"):
        upgrade(engine)
    slots = make_engine(url, fsync_each_commit=False) if engine.dialect.name == SQLITE else None
    return OfferStore(engine, slots)


def _within_caps(offer: Offer, customer_id: str, seen: Exposure) -> bool:
    if offer.cap is not None and seen.per_customer.get((offer.id, customer_id), 0) >= (
        offer.cap.impressions
    ):
        return False
    return not (offer.volume_cap is not None and seen.total.get(offer.id, 0) >= offer.volume_cap)


def within_caps(offer: Offer, customer_id: str, seen: Exposure) -> bool:
    """Whether one more exposure of `offer` to the customer keeps every cap."""
    return _within_caps(offer, customer_id, seen)


def _exposures(
    conn: sa.Connection,
    offers_: Sequence[Offer],
    customer_ids: list[str],
    now: datetime,
    hold: timedelta,
) -> Exposure:
    per_customer: dict[tuple[str, str], int] = {}
    total: dict[str, int] = {}
    held_since = now - hold
    capped = [o for o in offers_ if o.cap is not None]
    if capped and customer_ids:
        since = {o.id: now - timedelta(days=o.cap.days) for o in capped}  # type: ignore[union-attr]
        oldest = min(since.values())
        ids = [o.id for o in capped]
        shown = sa.select(events.c[OFFER_ID], events.c[C.customer_id], events.c[C.timestamp]).where(
            events.c[OFFER_ID].in_(ids),
            events.c[C.customer_id].in_(customer_ids),
            events.c[C.event] == IMPRESSION,
            events.c[C.timestamp] >= oldest,
        )
        for offer_id, customer, moment in conn.execute(shown):
            if _utc(moment) >= since[offer_id]:
                key = (offer_id, customer)
                per_customer[key] = per_customer.get(key, 0) + 1
        pending = _pending(
            offer_deliveries.c.offer_id.in_(ids),
            offer_deliveries.c[C.customer_id].in_(customer_ids),
            offer_deliveries.c.at >= max(oldest, held_since),
        )
        for offer_id, customer, moment in conn.execute(pending):
            if _utc(moment) >= max(since[offer_id], held_since):
                key = (offer_id, customer)
                per_customer[key] = per_customer.get(key, 0) + 1
    for offer in offers_:
        if offer.volume_cap is None:
            continue
        counted = sa.select(sa.func.count()).where(
            events.c[OFFER_ID] == offer.id, events.c[C.event] == str(offer.volume_event)
        )
        n = int(conn.execute(counted).scalar_one())
        if offer.volume_event == VolumeEvent.impression:
            waiting = _pending(
                offer_deliveries.c.offer_id == offer.id, offer_deliveries.c.at >= held_since
            ).subquery()
            n += int(conn.execute(sa.select(sa.func.count()).select_from(waiting)).scalar_one())
        total[offer.id] = n
    return Exposure(per_customer, total)


def _pending(*where: sa.ColumnElement[bool]) -> sa.Select:
    """Deliveries matching `where` whose impression has not been reported (yet)."""
    d = offer_deliveries
    reported = sa.exists().where(
        events.c[REQUEST_ID] == d.c[REQUEST_ID],
        events.c[OFFER_ID] == d.c.offer_id,
        events.c[C.event] == IMPRESSION,
    )
    return sa.select(d.c.offer_id, d.c[C.customer_id], d.c.at).where(*where, ~reported)


def _check_move(before: Offer, status: Status) -> None:
    if status == before.status:
        raise OfferConflict(f"offer {before.id}: is {status} already")
    if status not in TRANSITIONS[before.status]:
        allowed = sorted(str(s) for s in TRANSITIONS[before.status]) or ["none: it has ended"]
        raise OfferConflict(
            f"offer {before.id}: cannot go from {before.status} to {status} (allowed: {allowed})"
        )


def _row(o: Offer) -> dict[str, Any]:
    t = o.target
    return {
        "id": o.id,
        "name": o.name,
        C.product_id: o.product_id,
        "segments": json.dumps(list(t.segments)),
        "age_min": t.age_min,
        "age_max": t.age_max,
        "income_bands": json.dumps(list(t.income_bands)),
        "regions": json.dumps(list(t.regions)),
        "min_risk_tolerance": t.min_risk_tolerance,
        "has_customer_list": t.customers is not None,
        "channels": json.dumps(list(o.channels)),
        "start_at": _utc(o.start_at),
        "end_at": _utc(o.end_at),
        "action": str(o.action),
        "boost": o.boost,
        "pin": o.pin,
        "max_share": o.max_share,
        "cap_impressions": o.cap.impressions if o.cap else None,
        "cap_days": o.cap.days if o.cap else None,
        "volume_cap": o.volume_cap,
        "volume_event": str(o.volume_event),
        "priority": o.priority,
        "status": str(o.status),
        "created_by": o.created_by,
        "created_at": o.created_at,
        "updated_by": o.updated_by,
        "updated_at": o.updated_at,
        "revision": o.revision,
    }


def _offer(r: sa.RowMapping, customers: frozenset[str] | None) -> Offer:
    # a stored list read without its customers still says "listed" (empty frozenset)
    listed = (
        customers if customers is not None else (frozenset() if r["has_customer_list"] else None)
    )
    cap = (
        FrequencyCap(r["cap_impressions"], r["cap_days"])
        if r["cap_impressions"] is not None
        else None
    )
    target = Target(
        segments=tuple(json.loads(r["segments"])),
        age_min=r["age_min"],
        age_max=r["age_max"],
        income_bands=tuple(json.loads(r["income_bands"])),
        regions=tuple(json.loads(r["regions"])),
        min_risk_tolerance=r["min_risk_tolerance"],
        customers=listed,
    )
    return Offer(
        id=r["id"],
        name=r["name"],
        product_id=r[C.product_id],
        target=target,
        channels=tuple(json.loads(r["channels"])),
        start_at=_utc(r["start_at"]),
        end_at=_utc(r["end_at"]),
        action=Action(r["action"]),
        boost=r["boost"],
        pin=r["pin"],
        max_share=float(r["max_share"]),
        cap=cap,
        volume_cap=r["volume_cap"],
        volume_event=VolumeEvent(r["volume_event"]),
        priority=int(r["priority"]),
        status=Status(r["status"]),
        created_by=r["created_by"],
        created_at=_utc(r["created_at"]),
        updated_by=r["updated_by"],
        updated_at=_utc(r["updated_at"]),
        revision=int(r["revision"]),
    )


def offer_json(o: Offer) -> dict[str, Any]:
    """An offer as JSON-able values (audit rows, CLI --json)."""
    row = _row(o)
    for key in ("segments", "income_bands", "regions", "channels"):
        row[key] = json.loads(row[key])
    for key in ("start_at", "end_at", "created_at", "updated_at"):
        row[key] = row[key].isoformat() if row[key] is not None else None
    if o.target.customers is not None:
        row["customer_count"] = len(o.target.customers)
    return row


def audit_json(o: Offer) -> dict[str, Any]:
    """`offer_json` plus the customer list: its ids when short, else its size and digest.

    Replacing the list changes these, so the audit shows the change; ids quoted here are
    scrubbed by an erasure like every mention of a customer in the audit.
    """
    row = offer_json(o)
    listed = o.target.customers
    if listed is not None:
        ids = sorted(listed)
        if len(ids) <= AUDITED_CUSTOMERS:
            row["customers"] = ids
        else:
            row["customers_sha256"] = hashlib.sha256("\n".join(ids).encode()).hexdigest()
    return row


def _customers(conn: sa.Connection, offer_ids: Iterable[str]) -> dict[str, frozenset[str]]:
    ids = list(offer_ids)
    query = sa.select(offer_customers.c.offer_id, offer_customers.c[C.customer_id]).where(
        offer_customers.c.offer_id.in_(ids)
    )
    found: dict[str, set[str]] = {i: set() for i in ids}
    for offer_id, customer in conn.execute(query):
        found[offer_id].add(customer)
    return {k: frozenset(v) for k, v in found.items() if v}


def _audit(
    conn: sa.Connection,
    offer_id: str,
    action: str,
    actor: str,
    at: datetime,
    before: Offer | None,
    after: Offer | None,
) -> None:
    conn.execute(
        offer_audit.insert(),
        [
            {
                "offer_id": offer_id,
                "action": action,
                "actor": actor,
                "at": at,
                "before": json.dumps(audit_json(before)) if before else None,
                "after": json.dumps(audit_json(after)) if after else None,
            }
        ],
    )


def _now(now: datetime | None) -> datetime:
    return _utc(now) if now is not None else datetime.now(UTC)


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored in UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
