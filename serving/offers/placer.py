"""The store side of offer placement: the live offers of a channel, caps read, slots reserved.

The pipeline (recsys.offers.placement) targets, arbitrates and asks for slots through the
`Slots` port; `StoreSlots` answers it for one request from the offer store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from recsys.engine.engine import Engine
from recsys.offers.model import Offer
from recsys.offers.placement import OfferRun
from recsys.stores.sql_offers import OfferStore, within_caps
from serving.offers.book import OfferBook
from serving.offers.deliveries import DeliveryRecorder


class OfferPlacer:
    """Builds the offers of one request from the live offers of its channel."""

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

    def run(
        self, engine: Engine, *, channel: str, request_id: str, now: datetime
    ) -> OfferRun | None:
        """The offers this request may place, with its slots port; None when none run."""
        offers = self.book.live(now, channel)
        if not offers:
            return None
        index = engine.snapshot.product_map.to_internal(
            [o.product_id for o in offers], strict=False
        )
        slots = StoreSlots(self, channel=channel, request_id=request_id, now=now)
        return OfferRun.of(offers, index, slots)

    def writes_on_request(self, now: datetime, channel: str) -> bool:
        """Whether a capped offer runs in `channel`: placing it commits to the store."""
        live = self.book.live(now, channel)
        return any(_capped(o) or self.recorder is None for o in live)


@dataclass(frozen=True)
class StoreSlots:
    """recsys.offers.placement.Slots for one request, on the offer store."""

    placer: OfferPlacer
    channel: str
    request_id: str
    now: datetime

    def within_caps(
        self, offers: Sequence[Offer], customer_ids: Sequence[str], candidates: np.ndarray
    ) -> np.ndarray:
        """(b, m) bool: placing the offer keeps its caps (exposures read before arbitration)."""
        ok = np.ones_like(candidates)
        capped = [j for j, o in enumerate(offers) if _capped(o) and candidates[:, j].any()]
        if not capped:
            return ok
        rows = np.flatnonzero(candidates[:, capped].any(axis=1))
        seen = self.placer.store.exposures(
            [offers[j] for j in capped], {customer_ids[r] for r in rows}, self.now, self.placer.hold
        )
        for j in capped:
            for r in np.flatnonzero(candidates[:, j]).tolist():
                ok[r, j] = within_caps(offers[j], customer_ids[r], seen)
        return ok

    def reserve(self, offer: Offer, customer_id: str) -> bool:
        """A slot of `offer`: queued for the stats when uncapped, reserved in the store if not."""
        placer = self.placer
        if placer.recorder is not None and not _capped(offer):
            # no cap depends on it: queued for the stats, the answer does not wait
            placer.recorder.record(offer.id, customer_id, self.request_id, self.channel, self.now)
            return True
        return placer.store.reserve(
            offer, customer_id, self.request_id, self.channel, self.now, placer.hold
        )


def _capped(offer: Offer) -> bool:
    return offer.cap is not None or offer.volume_cap is not None
