"""Managing offers: create, change, move through statuses, read, measure (domain, no gRPC types).

The store keeps offers and their audit trail; the serving model's catalog decides what is a
known product, segment and channel, and how many customers a target reaches (the warnings).
Only changes to the product, channels or target need a model loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from recsys.engine.engine import Engine
from recsys.offers.model import Offer, OfferDraft, OfferProblem, Status, raise_all
from recsys.offers.stats import CapUse, DayStats, OfferStats, day_stats, offer_stats
from recsys.offers.targeting import Reach
from recsys.settings import Settings
from recsys.stores.sql_offers import AuditEntry, OfferStore
from recsys.stores.tables import ID_LENGTH
from serving.offers.checks import catalog_problems, warnings_for
from serving.recommend.domain import NoModelLoaded

if TYPE_CHECKING:
    from serving.models.holder import ModelHolder

NEW_STATUSES: Final = (Status.draft, Status.active)
CATALOG_FIELDS: Final = frozenset({"product_id", "channels", "target"})


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class OfferEdit:
    """An offer as stored after a change, and what the marketer should know about it."""

    offer: Offer
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class OfferDetail:
    """An offer and (when asked for) its audit history, oldest first."""

    offer: Offer
    history: tuple[AuditEntry, ...] = ()


@dataclass(frozen=True)
class OfferReport:
    """An offer's performance: counts and rates per channel and in total (per day and the
    use of its caps when asked for)."""

    offer: Offer
    stats: OfferStats
    days: tuple[DayStats, ...] = ()
    caps: CapUse | None = None


@dataclass(frozen=True)
class OfferPreview:
    """Whom a new offer would reach in the serving snapshot, and its warnings."""

    reach: Reach
    customers: int  # in the serving snapshot
    warnings: tuple[str, ...] = ()


class OfferManager:
    """Offers admin: every change is checked, stored with its actor and audited."""

    def __init__(
        self,
        store: OfferStore,
        holder: ModelHolder,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store = store
        self.holder = holder
        self.channels = frozenset(settings.channels)
        self.hold = timedelta(minutes=settings.offer_hold_minutes)  # as the caps count it
        self.clock = clock

    def create(self, offer: Offer | OfferDraft, actor: str) -> OfferEdit:
        """Store a new draft or active offer; every bad or unknown field together -> OfferProblem.

        A draft (a request read part by part) has its field problems reported with the
        catalog's: an unknown product, channel or segment.
        """
        actor = check_actor(actor)
        built, engine = self._checked(offer)
        stored = self.store.create(built, actor, now=self.clock())
        return OfferEdit(stored, tuple(warnings_for(stored, engine, self.clock())))

    def preview(self, offer: Offer | OfferDraft) -> OfferPreview:
        """What `create` would store, not stored: the same problems, its reach and warnings."""
        built, engine = self._checked(offer)
        now = self.clock()
        at = max(now.date(), built.start_at.date())  # the day it first runs, as the warnings
        found = engine.reach(built, at)
        customers = len(engine.snapshot.customer_map)
        return OfferPreview(found, customers, tuple(warnings_for(built, engine, now)))

    def _checked(self, offer: Offer | OfferDraft) -> tuple[Offer, Engine]:
        """The new offer built, and the engine that checked it; every problem together."""
        if isinstance(offer, Offer):
            offer = OfferDraft(_values(offer), segments=offer.target.segments)
        problems = offer.all_problems()
        status = offer.values.get("status", Status.draft)  # absent: unreadable, reported
        if status not in NEW_STATUSES:
            problems.append(OfferProblem("status", f"a new offer is draft or active, got {status}"))
        engine = self._engine()
        values = offer.values
        problems += catalog_problems(
            values["product_id"], values.get("channels", ()), offer.segments, engine, self.channels
        )
        raise_all(problems)
        return offer.build(), engine

    def update(
        self,
        ref: str,
        actor: str,
        changes: Mapping[str, Any],
        target_changes: Mapping[str, Any] | None = None,
        *,
        expected_revision: int | None = None,
    ) -> OfferEdit:
        """Apply Offer-field `changes` and Target-field `target_changes` to the offer `ref`."""
        actor = check_actor(actor)
        changes = dict(changes)
        if not changes and not target_changes:
            raise OfferProblem("update_mask", "names no field to change")
        current = self._find(ref)
        problems: list[OfferProblem] = []
        segments = changes["target"].segments if "target" in changes else current.target.segments
        if target_changes:
            # the rest of the target (its customer list too) is kept: read it whole, and let
            # the revision refuse the write if someone changed the offer in between
            full = self.store.get(current.id, with_customers=True)
            base = changes.get("target", full.target)
            segments = tuple(target_changes.get("segments", base.segments))
            try:
                changes["target"] = replace(base, **target_changes)
            except OfferProblem as exc:
                problems += exc.each
            if expected_revision is None:
                expected_revision = full.revision
        catalog = CATALOG_FIELDS & {*changes, *(["target"] if target_changes else [])}
        engine = self._engine() if catalog else None
        raise_all(problems + self._change_problems(current, changes, segments, engine))
        after = self.store.update(
            current.id, actor, changes, expected_revision=expected_revision, now=self.clock()
        )
        if engine is None:
            return OfferEdit(after)
        return OfferEdit(after, tuple(warnings_for(after, engine, self.clock())))

    def set_status(
        self, ref: str, status: Status, actor: str, *, expected_revision: int | None = None
    ) -> OfferEdit:
        """Pause, resume/activate or end the offer `ref` (OfferConflict for a move not allowed)."""
        actor = check_actor(actor)
        current = self._find(ref)
        after = self.store.set_status(
            current.id, status, actor, expected_revision=expected_revision, now=self.clock()
        )
        now = self.clock()
        late = after.status == Status.active and after.end_at <= now
        warning = f"end: {after.end_at.isoformat()} has passed: the offer will never be served"
        return OfferEdit(after, (warning,) if late else ())

    def get(self, ref: str, *, with_history: bool = False) -> OfferDetail:
        """The offer `ref` (id or name), with its history when asked."""
        offer = self._find(ref)
        if offer.target.customers is not None:  # read the list too, for its size
            offer = self.store.get(offer.id, with_customers=True)
        history = tuple(self.store.history(offer.id)) if with_history else ()
        return OfferDetail(offer, history)

    def list(self, statuses: Sequence[Status] = ()) -> list[Offer]:
        """Offers, newest first, optionally only of these statuses."""
        return self.store.list(statuses)

    def stats_of(self, offers: Sequence[Offer]) -> list[OfferStats]:
        """The stats of each of `offers`, in their order (one read of the store for all)."""
        counts = self.store.event_counts_of(offers)
        return [offer_stats(counts[o.id]) for o in offers]

    def stats(self, ref: str, *, with_days: bool = False) -> OfferReport:
        """Served slots, impressions, clicks, purchases and rates of the offer `ref`; with
        `with_days` also its counts per day and the use of its caps."""
        offer = self._find(ref)
        report = OfferReport(offer, offer_stats(self.store.event_counts(offer.id)))
        if not with_days:
            return report
        days = day_stats(self.store.daily_counts(offer.id))
        caps = self.store.cap_use(offer, self.clock(), self.hold)
        return replace(report, days=days, caps=caps)

    def _change_problems(
        self,
        current: Offer,
        changes: Mapping[str, Any],
        segments: Sequence[str],
        engine: Engine | None,
    ) -> list[OfferProblem]:
        """The field problems of `current` with `changes`, and (with `engine`) the catalog's."""
        problems: list[OfferProblem] = []
        try:
            current.with_changes(**changes)
        except OfferProblem as exc:
            problems += exc.each
        if engine is not None:
            product = changes.get("product_id", current.product_id)
            channels = changes.get("channels", current.channels)
            problems += catalog_problems(product, channels, segments, engine, self.channels)
        return problems

    def _find(self, ref: str) -> Offer:
        if not (ref or "").strip():
            raise OfferProblem("offer_ref", "is required (an offer id or name)")
        return self.store.find(ref.strip())

    def _engine(self) -> Engine:
        loaded = self.holder.current()
        if loaded is None:
            raise NoModelLoaded(
                "no model loaded yet: products and segments cannot be checked; retry shortly"
            )
        return loaded.engine


def _values(offer: Offer) -> dict[str, Any]:
    return {f.name: getattr(offer, f.name) for f in fields(offer)}


def check_actor(actor: str) -> str:
    """The actor trimmed; OfferProblem when empty or longer than the store keeps."""
    actor = (actor or "").strip()
    if not actor or len(actor) > ID_LENGTH:
        raise OfferProblem("actor", f"must be 1-{ID_LENGTH} characters, got {actor!r}")
    return actor
