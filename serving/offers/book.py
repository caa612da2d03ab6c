"""The live offers of one server process, re-read from the store every few seconds.

Every process polls on its own, so creating, changing or pausing an offer reaches all of them
within `offer_refresh_seconds` without a restart. A poll is one small aggregate query; the
offers (and customer lists) are read again only when something changed. A failed poll keeps
the offers last read: an unreachable store must not stop Recommend.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from recsys.offers.model import Offer
from recsys.stores.base import StoreUnavailable
from recsys.stores.sql_offers import OfferStore
from serving.polling import Poller

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class OfferBook:
    """Active offers, refreshed in the background; `live(now, channel)` is lock-free."""

    def __init__(
        self,
        store: OfferStore,
        *,
        refresh_seconds: float = 5.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store = store
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._offers: tuple[Offer, ...] = ()
        self._fingerprint: tuple[int, str] | None = None
        self._poller = Poller(self.refresh, refresh_seconds, "offer-book")

    def refresh(self) -> bool:
        """Re-read the offers if any changed; True when the book changed. Never raises."""
        try:
            fingerprint = self.store.fingerprint()
            if fingerprint == self._fingerprint:
                return False
            offers = tuple(self.store.live(self.clock()))
        except StoreUnavailable as exc:
            log.warning("offers not refreshed, keeping %d: %s", len(self._offers), exc)
            return False
        self._offers, self._fingerprint = offers, fingerprint
        log.info("offers refreshed", extra={"live_offers": len(offers)})
        return True

    def live(self, now: datetime, channel: str) -> list[Offer]:
        """Offers running at `now` in `channel`, in store order."""
        offers = self._offers  # one read of an immutable tuple
        if not offers:
            return []
        return [o for o in offers if o.live_at(now) and (not o.channels or channel in o.channels)]

    def start(self) -> None:
        """Read once now, then poll in a daemon thread until `stop`."""
        self._poller.start()

    def stop(self) -> None:
        """Stop polling (waits for the thread)."""
        self._poller.stop()
