"""The recommendation service: request values -> suggestions, similar products, stored events.

Domain only (no gRPC types): the servicer translates protos to these calls and errors to
status codes. Each call grabs the current model once, so a request started before a model
swap finishes on the model it started with.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from recsys.data.contract import MAX_CLOCK_SKEW
from recsys.data.recent_events import RecentEvents
from recsys.engine.profile import ContextError
from recsys.engine.request import NewEvents, Request
from recsys.rules.eligibility import active_at
from recsys.settings import Settings
from recsys.stores.base import EventStore
from serving.models.derived import PerVersion
from serving.offers.placer import OfferPlacer
from serving.recommend import validation as v
from serving.recommend.answer_cache import AnswerCache, Kept
from serving.recommend.domain import (
    BatchRecommendation,
    EventIn,
    Item,
    NoModelLoaded,
    Recommendation,
    Removed,
    ServingInfo,
    Similar,
    SimilarItem,
    UnknownProduct,
)
from serving.recommend.events_in import stored_events
from serving.recommend.exploration import ExplorationSource
from serving.recommend.similarity import item_similarity, top_similar
from serving.recommend.suggest import ProductText, RecentReader, removed, row_items
from serving.recommend.validation import ValidationError

if TYPE_CHECKING:
    from serving.experiments.router import Routed, Router
    from serving.models.follower import LoadedModel, ModelHolder

log = logging.getLogger(__name__)
DEFAULT_SIMILAR_K = 5


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SuggestionService:
    """Next-best-product suggestions and feedback for the bank's channels."""

    def __init__(
        self,
        holder: ModelHolder,
        store: EventStore,
        settings: Settings,
        *,
        limits: v.RequestLimits | None = None,
        clock: Callable[[], datetime] = _utc_now,
        on_store_down: Callable[[], None] | None = None,
        offers: OfferPlacer | None = None,
        answers: AnswerCache[Any] | None = None,
        router: Router | None = None,
    ) -> None:
        self.holder = holder
        self.router = router  # None: no experiments; else it picks each request's arm
        self.offers = offers  # None: no offers are placed (tests, or no offer store)
        self.exploration = (
            ExplorationSource(store, settings.exploration) if settings.exploration.enabled else None
        )
        self.answers = answers  # None: every answer is worked out afresh
        self.store = store
        self.settings = settings
        self.limits = limits or settings.limits
        self.clock = clock
        self._recent_of = RecentReader(store, on_store_down)
        self._text = PerVersion(ProductText.of)
        self._similarity = PerVersion(item_similarity)

    def recommend(
        self,
        customer_id: str,
        channel: str,
        k: int = 0,
        context: Mapping[str, str] | None = None,
        exclude_product_ids: Sequence[str] = (),
        request_id: str = "",
    ) -> Recommendation | Kept[Any]:
        """Top-k for one customer; unknown customers get a profile from `context` or popularity.

        Kept: the answer as the answer cache keeps it (a hit, or an answer just kept).
        """
        request_id = v.request_id_or_new(request_id, self.limits)
        customer_id = v.check_id(customer_id, "customer_id", self.limits)
        channel, k = self._channel_and_k(channel, k)
        profile = v.check_context(context or {}, self.limits)
        exclude = v.check_exclude(exclude_product_ids, self.limits)
        loaded = self._loaded()
        routed = self._route(customer_id, channel)
        return self._answer(loaded, customer_id, profile, channel, k, exclude, request_id, routed)

    def may_place_offers(self, channel: str) -> bool:
        """Whether a Recommend in `channel` may commit to the store (a capped offer runs)."""
        return self.offers is not None and self.offers.writes_on_request(self.clock(), channel)

    def recommend_batch(
        self,
        customer_ids: Sequence[str],
        channel: str,
        k: int = 0,
        exclude_product_ids: Sequence[str] = (),
        request_id: str = "",
    ) -> BatchRecommendation:
        """Top-k for many customers of one channel, in request order (duplicates allowed)."""
        request_id = v.request_id_or_new(request_id, self.limits)
        ids = v.check_batch(customer_ids, self.limits)
        channel, k = self._channel_and_k(channel, k)
        v.check_batch_items(len(ids), k, self.limits)
        exclude = v.check_exclude(exclude_product_ids, self.limits)
        loaded = self._loaded()
        now = self.clock()
        events = self._recent(loaded, ids)
        results: list[Recommendation | None] = [None] * len(ids)
        # customers of one arm (or of none) are answered together, by that arm's model
        groups: dict[tuple[str, str], tuple[LoadedModel, list[int]]] = {}
        for i, c in enumerate(ids):
            routed = self._route(c, channel, now)
            key = ("", "") if routed is None else (routed.experiment_id, routed.arm)
            groups.setdefault(key, (loaded if routed is None else routed.loaded, []))[1].append(i)
        for (experiment_id, arm), (model, rows_of) in groups.items():
            mine = [ids[i] for i in rows_of]
            found = events if len(groups) == 1 else self._recent(model, mine)
            rows = self._items(model, mine, [None] * len(mine), channel, k, exclude,
                               request_id, now, found, arm)
            for i, (items, removals, fell_back, unknown) in zip(rows_of, rows, strict=True):
                results[i] = Recommendation(ids[i], items, model.version, request_id, removals,
                                            experiment_id, arm, fell_back, unknown)
        return BatchRecommendation(tuple(r for r in results if r is not None), loaded.version,
                                   request_id)

    def similar_products(self, product_id: str, k: int = 0) -> Similar:
        """Products customers hold together with `product_id` (active ones), most similar first."""
        product_id = v.check_id(product_id, "product_id", self.limits)
        k = v.check_k(k, DEFAULT_SIMILAR_K, self.limits)
        loaded = self._loaded()
        engine = loaded.engine
        if product_id not in engine.snapshot.product_map:
            raise UnknownProduct(f"product_id: unknown product {product_id!r}")
        [index] = engine.snapshot.product_map.to_internal([product_id])
        matrix = self._similarity.get(loaded.version, engine)
        allowed = active_at(engine.catalog, self.clock().date())
        ids, scores = top_similar(matrix[index], allowed, k)
        text = self._text.get(loaded.version, engine)
        items = tuple(
            SimilarItem(text.id_list[p], text.name_list[p], text.category_list[p], s)
            for p, s in zip(ids.tolist(), scores.tolist(), strict=True)
        )
        return Similar(items, loaded.version)

    def record_events(self, events: Sequence[EventIn], source: str = "") -> int:
        """Validate every event, then store them all durably; the count stored.

        `source` names the caller: an event id is unique among one source's events.
        """
        v.check_event_count(len(events), self.limits)
        loaded = self._loaded()  # product ids are checked against the serving catalog
        stored = stored_events(
            events,
            product_map=loaded.engine.snapshot.product_map,
            settings=self.settings,
            limits=self.limits,
            now=self.clock(),
            source=source,
        )
        count = self.store.append(stored)
        log.debug("stored %d events", count)
        return count

    def model_info(self) -> ServingInfo:
        """The serving model: version, alias, family, when trained and loaded, how it scored."""
        loaded = self._loaded()
        return ServingInfo(
            model_name=self.settings.registered_model,
            version=loaded.version,
            alias=self.settings.champion_alias,
            family=loaded.family,
            trained_at=loaded.trained_at,
            loaded_at=loaded.loaded_at,
            data_fingerprint=loaded.data_fingerprint,
            metrics=dict(loaded.metrics),
        )

    # --- helpers -------------------------------------------------------------------------
    def _route(self, customer_id: str, channel: str, now: datetime | None = None) -> Routed | None:
        """The customer's arm of the channel's live experiment (None: no experiment)."""
        if self.router is None:
            return None
        return self.router.route(customer_id, channel, now or self.clock())

    def _loaded(self) -> LoadedModel:
        loaded = self.holder.current()
        if loaded is None:
            raise NoModelLoaded("no model loaded yet (starting up, or no champion in the registry)")
        return loaded

    def _channel_and_k(self, channel: str, k: int) -> tuple[str, int]:
        channel = v.check_channel(channel, self.settings.channels)
        return channel, v.check_k(k, self.settings.channels[channel].default_k, self.limits)

    def _recent(self, loaded: LoadedModel, customer_ids: Sequence[str]) -> RecentEvents | None:
        return self._recent_of(loaded.engine, customer_ids)

    def _new_events(self, events: RecentEvents | None, now: datetime) -> NewEvents | None:
        """The store's events as the pipeline weighs them (None: none, or no store read)."""
        if not events:
            return None
        weights = self.settings.weights
        # an accepted event may be stamped by a channel clock running up to MAX_CLOCK_SKEW
        # ahead, and must count at once
        return NewEvents(events, weights.as_dict(), weights.half_life_days, now + MAX_CLOCK_SKEW)

    def _answer(
        self,
        loaded: LoadedModel,
        customer_id: str,
        profile: Mapping[str, str],
        channel: str,
        k: int,
        exclude: list[str],
        request_id: str,
        routed: Routed | None = None,
    ) -> Recommendation | Kept[Any]:
        """One customer's answer; kept in (and taken from) the answer cache when it depends
        on nothing but the key and generation (see serving.recommend.answer_cache). An
        experiment's answers are never kept: each carries its arm."""
        now = self.clock()
        if routed is not None:
            loaded = routed.loaded
        events = self._recent(loaded, [customer_id])
        keep = (
            routed is None
            and self.answers is not None
            and not profile
            and not exclude
            and events is not None  # the store was read, and
            and not len(events)  # it holds no event of the customer since the snapshot
            and not (self.offers is not None and self.offers.book.live(now, channel))
            # an exploring answer is drawn afresh for every request
            and not self.settings.exploration.share_for(channel)
        )
        answers = self.answers if keep else None
        generation = (loaded.version, id(loaded.engine), now.date())
        key = (customer_id, channel, k)
        if answers is not None and (value := answers.get(generation, key)) is not None:
            return Kept(customer_id, loaded.version, request_id, value)
        [(items, removals, fell_back, unknown)] = self._items(
            loaded, [customer_id], [profile], channel, k, exclude, request_id, now, events,
            routed.arm if routed is not None else "",
        )
        tag = ("", "") if routed is None else (routed.experiment_id, routed.arm)
        answer = Recommendation(
            customer_id, items, loaded.version, request_id, removals, *tag, fell_back, unknown
        )
        if answers is None or any(i.offer_id for i in items):  # (an offer started meanwhile)
            return answer
        value = answers.put(generation, key, answer)
        return Kept(customer_id, loaded.version, request_id, value)

    def _items(
        self,
        loaded: LoadedModel,
        customer_ids: list[str],
        contexts: list[Mapping[str, str] | None],
        channel: str,
        k: int,
        exclude: list[str],
        request_id: str,
        now: datetime,
        events: RecentEvents | None,
        arm: str = "",
    ) -> list[tuple[tuple[Item, ...], Removed, bool, bool]]:
        """Per customer: the ranked items (offers placed), what each hard rule removed,
        whether the fallback model ranked them and whether the customer was unknown to the
        snapshot; `events`: theirs since the snapshot (None: the store could not be read)."""
        engine = loaded.engine
        offers = None
        if self.offers is not None:
            offers = self.offers.run(engine, channel=channel, request_id=request_id, now=now)
        request = Request(
            customer_ids,
            k,
            now,
            channel=channel,
            contexts=contexts,
            events=self._new_events(events, now),
            exclude=exclude,
            offers=offers,
            ranking=self.settings.ranking.for_arm(arm),
            exploration=(
                self.exploration.run(engine, loaded.version, channel)
                if self.exploration is not None and self.settings.exploration.in_arm(arm)
                else None
            ),
            recent_days=self.settings.reason_recent_days,
        )
        try:
            out = engine.answer(request)
        except ContextError as exc:
            # the profile's messages start with the field (`context[segment]: ...`)
            field, _, problem = str(exc).partition(": ")
            if not field.startswith("context") or not problem:
                field, problem = "context", str(exc)
            raise ValidationError(field, problem) from exc
        text = self._text.get(loaded.version, engine)
        fallback, unknown = out.fallback.tolist(), (~out.known).tolist()
        return [
            (row_items(text, out, row), removed(text, out, row), fallback[row], unknown[row])
            for row in range(len(customer_ids))
        ]
