"""Offers into one Recommend answer: targeting, consent and caps, then arbitration, then slots.

Works on the engine's arrays through its `arbiter` hook, so the hard rules have run already.
A slot an offer takes is reserved in the store before the answer leaves (caps hold across
processes); when a reservation is refused (a cap filled meanwhile, the offer paused) that
offer is dropped for that customer and the answer is arbitrated again. An unreachable store
costs the answer its offers, never the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from recsys.columns import Columns as C
from recsys.engine.engine import Arbiter, Engine
from recsys.engine.state import BatchState
from recsys.offers.arbitrate import NO_OFFER, OfferArrays, arbitrate
from recsys.offers.model import Offer
from recsys.offers.targeting import TargetProfile, snapshot_profile, target_match
from recsys.rules.consent import offers_allowed
from recsys.stores.base import StoreUnavailable
from recsys.stores.sql_offers import OfferStore, within_caps
from serving.cache import PerVersion
from serving.offer_book import OfferBook
from serving.offer_deliveries import DeliveryRecorder

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class SnapshotTargets:
    """Targeting fields of every snapshot customer, plus a last entry for unknown customers."""

    income_band: np.ndarray  # str objects (N + 1,), None where unknown
    region: np.ndarray  # str objects (N + 1,)

    @classmethod
    def of(cls, engine: Engine) -> SnapshotTargets:
        """From the engine's snapshot customers (computed once per model version)."""
        profile = snapshot_profile(engine.snapshot.customers)
        return cls(
            income_band=np.append(profile.income_band, None),
            region=np.append(profile.region, None),
        )


class OfferPlacer:
    """Builds the per-request arbiter from the live offers of a channel."""

    def __init__(
        self,
        book: OfferBook,
        store: OfferStore,
        *,
        hold: timedelta,
        recorder: DeliveryRecorder | None = None,
    ) -> None:
        self.book = book
        self.store = store
        self.hold = hold
        self.recorder = recorder  # slots of uncapped offers; None: reserved like capped ones
        self._targets = PerVersion(SnapshotTargets.of)

    def arbiter(
        self,
        version: str,
        engine: Engine,
        *,
        channel: str,
        contexts: Sequence[Mapping[str, str] | None],
        request_id: str,
        now: datetime,
    ) -> tuple[Arbiter | None, list[Offer]]:
        """The arbiter for this request and the offers it may place (None, [] when none run)."""
        offers = self.book.live(now, channel)
        if not offers:
            return None, []
        targets = self._targets.get(version, engine)
        index = engine.snapshot.product_map.to_internal(
            [o.product_id for o in offers], strict=False
        )
        arrays = OfferArrays.of(offers, index)

        def place(
            state: BatchState, scores: np.ndarray, allowed: np.ndarray, k: int
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            profile = _profile(state, targets, contexts)
            eligible = target_match(offers, profile, now.date())
            eligible &= offers_allowed(state.customers)[:, None]  # no consent, no offers
            return self._place(
                state, scores, allowed, eligible, offers, arrays, k, channel, request_id, now
            )

        return place, offers

    def _place(
        self,
        state: BatchState,
        scores: np.ndarray,
        allowed: np.ndarray,
        eligible: np.ndarray,
        offers: list[Offer],
        arrays: OfferArrays,
        k: int,
        channel: str,
        request_id: str,
        now: datetime,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ids = state.customer_ids
        try:
            eligible &= self._under_caps(eligible, allowed, offers, arrays, ids, now)
            reserved: set[tuple[int, int]] = set()
            while True:
                top_ids, top, slots = arbitrate(scores, allowed, eligible, arrays, k)
                refused = False
                for r, pos in zip(*np.nonzero(slots != NO_OFFER), strict=True):
                    j = int(slots[r, pos])
                    if (r, j) in reserved:
                        continue
                    if self.recorder is not None and not _capped(offers[j]):
                        # no cap depends on it: queued for the stats, the answer does not wait
                        self.recorder.record(offers[j].id, ids[r], request_id, channel, now)
                        reserved.add((int(r), j))
                        continue
                    if self.store.reserve(offers[j], ids[r], request_id, channel, now, self.hold):
                        reserved.add((int(r), j))
                    else:  # a cap filled or the offer stopped meanwhile: without it, again
                        eligible[r, j] = False
                        refused = True
                if not refused:
                    return top_ids, top, slots
        except StoreUnavailable as exc:
            log.warning("offers left out of the answer: %s", exc)
            return arbitrate(scores, allowed, np.zeros_like(eligible), arrays, k)

    def writes_on_request(self, now: datetime, channel: str) -> bool:
        """Whether a capped offer runs in `channel`: placing it commits to the store."""
        live = self.book.live(now, channel)
        return any(_capped(o) or self.recorder is None for o in live)

    def _under_caps(
        self,
        eligible: np.ndarray,
        allowed: np.ndarray,
        offers: list[Offer],
        arrays: OfferArrays,
        customer_ids: list[str],
        now: datetime,
    ) -> np.ndarray:
        """(b, m) bool: placing the offer would keep its caps (read before arbitration)."""
        ok = np.ones_like(eligible)
        known = arrays.product >= 0
        candidates = eligible & known[None, :]
        candidates[:, known] &= allowed[:, arrays.product[known]]
        capped = [j for j, o in enumerate(offers) if o.cap or o.volume_cap]
        capped = [j for j in capped if candidates[:, j].any()]
        if not capped:
            return ok
        rows = np.flatnonzero(candidates[:, capped].any(axis=1))
        seen = self.store.exposures(
            [offers[j] for j in capped], {customer_ids[r] for r in rows}, now, self.hold
        )
        for j in capped:
            for r in np.flatnonzero(candidates[:, j]).tolist():
                ok[r, j] = within_caps(offers[j], customer_ids[r], seen)
        return ok


def _capped(offer: Offer) -> bool:
    return offer.cap is not None or offer.volume_cap is not None


def _profile(
    state: BatchState, targets: SnapshotTargets, contexts: Sequence[Mapping[str, str] | None]
) -> TargetProfile:
    rows = state.rows
    income = targets.income_band[rows]
    region = targets.region[rows]
    for r in np.flatnonzero(rows < 0).tolist():  # unknown customers: what the channel told us
        context = contexts[r] if r < len(contexts) else None
        if context:
            income[r] = context.get(C.income_band) or None
            region[r] = context.get(C.region) or None
    return TargetProfile(
        customer_ids=np.asarray(state.customer_ids, dtype=object),
        segment=state.customers.segment,
        birth_year=state.customers.birth_year,
        age_known=state.age_known,
        risk_tolerance=state.customers.risk_tolerance,
        income_band=income,
        region=region,
    )
