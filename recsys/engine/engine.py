"""The Engine: model + fallback + snapshot + rules -> top-k suggestions with reasons."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl

from recsys.columns import Columns as C
from recsys.engine.explain import Explainer
from recsys.engine.small_batch import RequestRules
from recsys.engine.snapshot import Snapshot
from recsys.engine.state import BatchState, ProfileArrays, batch_state
from recsys.models.base import Recommender
from recsys.models.reason import Reason
from recsys.models.registry import load_model
from recsys.rules import Catalog, combine, masked_topk, rule_masks
from recsys.rules.catalog import NO_MAX_AGE

MANIFEST = "manifest.json"
# A customer without a profile is still a KYC'd bank customer, hence an adult; with the exact
# age unknown, only products open to every adult age are allowed (no junior/senior products).
ADULT_AGE = 18
SMALL_BATCH = 64  # batches up to this size take the small_batch rules path


@dataclass(frozen=True, eq=False)
class Suggestions:
    """Top-k per customer: product ids (-1 padded), scores, and which rows used the fallback."""

    ids: np.ndarray  # int32 (b, k)
    scores: np.ndarray  # float32 (b, k)
    fallback: np.ndarray  # bool (b,)
    masks: dict[str, np.ndarray]  # rule -> (b, n) allowed mask, for decision logs
    offers: np.ndarray | None = None  # int (b, k): which offer placed a slot, -1 none


class Arbiter(Protocol):
    """Places offers into the top-k after the hard rules (see recsys.offers.arbitrate)."""

    def __call__(
        self, state: BatchState, scores: np.ndarray, allowed: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, scores, offer slots), each (b, k); `allowed` already holds every hard rule."""
        ...


class Engine:
    """Scores customer states with the model, applies every hard rule, explains the top-k."""

    def __init__(
        self,
        model: Recommender,
        fallback: Recommender,
        snapshot: Snapshot,
        *,
        excluded_categories: Mapping[str, Sequence[str]],
        purchase_weight: float = 1.0,
        manifest: Mapping[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.fallback = fallback
        self.snapshot = snapshot
        self.excluded_categories = {c: tuple(v) for c, v in excluded_categories.items()}
        self.purchase_weight = purchase_weight
        self.manifest = dict(manifest or {})
        self.catalog = Catalog.from_frame(
            snapshot.products, snapshot.product_map, list(self.excluded_categories)
        )
        self._names = snapshot.products[C.name].to_numpy()
        self._any_adult_age = (self.catalog.min_age <= ADULT_AGE) & (
            self.catalog.max_age == NO_MAX_AGE
        )
        self.profiles = ProfileArrays.of(snapshot.customers)
        self._explainers = (Explainer(model), Explainer(fallback))  # [fallback?]
        self._request_rules = RequestRules(self.catalog, self.excluded_categories)

    def state(
        self, customer_ids: Sequence[str], holdings: Sequence[Sequence[str] | None] | None = None
    ) -> BatchState:
        """Customer states from the snapshot, with optional holdings overrides."""
        return batch_state(
            self.snapshot,
            customer_ids,
            holdings,
            purchase_weight=self.purchase_weight,
            profiles=self.profiles,
        )

    def allowed_masks(
        self,
        state: BatchState,
        *,
        at: date,
        channel: str | None = None,
        exclude_products: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """Per-rule allowed masks; a customer of unknown age gets only products open to adults."""
        if len(state.rows) <= SMALL_BATCH and exclude_products is None:
            # a request: the same masks with product-only rules cached (see small_batch)
            masks = self._request_rules.masks(state.customers, state.held, at=at, channel=channel)
        else:
            masks = rule_masks(
                self.catalog,
                state.customers,
                state.held,
                at=at,
                channel=channel,
                excluded_categories=self.excluded_categories.get(channel, ()) if channel else (),
                exclude_products=exclude_products,
            )
        if not state.age_known.all():
            age = masks["age"].copy()
            age[~state.age_known] = self._any_adult_age
            masks["age"] = age
        return masks

    def scores(self, state: BatchState) -> tuple[np.ndarray, np.ndarray]:
        """(b, n) scores, and which rows fell back (model needs history, the row has none)."""
        empty = np.diff(state.history.indptr) == 0
        use_fallback = empty if self.model.needs_history else np.zeros_like(empty)
        # one model for the whole batch (always so for one customer): no row selection
        whole = (self.fallback if use_fallback[0] else self.model) if len(empty) else None
        if whole is not None and (use_fallback == use_fallback[0]).all():
            return whole.score(state.history, state.rows, state.features), use_fallback
        scores = np.empty((len(state.rows), len(self.catalog)), dtype=np.float32)
        main = ~use_fallback
        if main.any():
            scores[main] = self.model.score(
                state.history[main], state.rows[main], state.features.filter(pl.Series(main))
            )
        if use_fallback.any():
            scores[use_fallback] = self.fallback.score(
                state.history[use_fallback],
                state.rows[use_fallback],
                state.features.filter(pl.Series(use_fallback)),
            )
        return scores, use_fallback

    def recommend(
        self,
        state: BatchState,
        k: int,
        *,
        at: date,
        channel: str | None = None,
        exclude_products: np.ndarray | None = None,
        arbiter: Arbiter | None = None,
    ) -> Suggestions:
        """Top-k allowed products per customer state; offers placed by `arbiter` if given."""
        masks = self.allowed_masks(state, at=at, channel=channel, exclude_products=exclude_products)
        scores, fallback = self.scores(state)
        allowed = combine(masks)
        if arbiter is None:
            ids, top = masked_topk(scores, allowed, k)
            return Suggestions(ids=ids, scores=top, fallback=fallback, masks=masks)
        ids, top, offers = arbiter(state, scores, allowed, k)
        return Suggestions(ids=ids, scores=top, fallback=fallback, masks=masks, offers=offers)

    def reason(self, state: BatchState, row: int, product: int, fallback: bool) -> str:
        """The strongest reason, as text with product names filled in."""
        model = self.fallback if fallback else self.model
        reasons = model.explain(
            state.history[row], int(product), 1, features=state.features[row : row + 1]
        )
        if not reasons:
            return "recommended for you"
        return reasons[0].render(lambda p: str(self._names[p]))

    def explain_items(
        self, state: BatchState, row: int, products: Sequence[int], fallback: bool, k: int
    ) -> list[list[Reason]]:
        """Up to k reasons (strongest first) for each of `products` suggested to state row `row`."""
        history = state.history if state.history.shape[0] == 1 else state.history[row]
        explainer = self._explainers[bool(fallback)]
        features = state.features[row : row + 1] if explainer.uses_features else None
        return explainer.explain(history, products, k, features)

    def recommend_frame(
        self,
        customer_ids: Sequence[str],
        k: int,
        *,
        holdings: Sequence[Sequence[str] | None] | None = None,
        channel: str | None = None,
        at: date | None = None,
    ) -> pl.DataFrame:
        """One row per suggestion: customer_id, rank, product_id, score, reason."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if channel is not None and channel not in self.excluded_categories:
            known = sorted(self.excluded_categories)
            raise ValueError(f"unknown channel {channel!r}; known: {known}")
        state = self.state(customer_ids, holdings)
        day = at or datetime.now(UTC).date()
        out = self.recommend(state, k, at=day, channel=channel)
        rows, ranks = np.nonzero(out.ids >= 0)
        products = out.ids[rows, ranks]
        reasons = [
            self.reason(state, r, p, bool(out.fallback[r]))
            for r, p in zip(rows.tolist(), products.tolist(), strict=True)
        ]
        return pl.DataFrame(
            {
                C.customer_id: np.asarray(state.customer_ids, dtype=object)[rows],
                "rank": (ranks + 1).astype(np.int64),
                C.product_id: self.snapshot.product_map.to_external(products),
                "score": out.scores[rows, ranks].astype(np.float64),
                "reason": reasons,
            },
            schema={
                C.customer_id: pl.String,
                "rank": pl.Int64,
                C.product_id: pl.String,
                "score": pl.Float64,
                "reason": pl.String,
            },
        )

    def save(self, folder: Path) -> Path:
        """Write the engine (models, snapshot, manifest) into `folder`; no pickle."""
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save(folder / "model")
        self.fallback.save(folder / "fallback")
        self.snapshot.save(folder / "snapshot")
        manifest = {
            **self.manifest,
            "as_of": self.snapshot.as_of.isoformat(),
            "excluded_categories": {c: list(v) for c, v in self.excluded_categories.items()},
            "purchase_weight": self.purchase_weight,
            "family": self.model.family,
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        return folder

    @classmethod
    def load(cls, folder: Path) -> Engine:
        """An engine read back from a folder written by `save`."""
        manifest = json.loads((folder / MANIFEST).read_text())
        as_of = datetime.fromisoformat(manifest["as_of"])
        return cls(
            load_model(folder / "model"),
            load_model(folder / "fallback"),
            Snapshot.load(folder / "snapshot", as_of),
            excluded_categories=manifest["excluded_categories"],
            purchase_weight=float(manifest["purchase_weight"]),
            manifest=manifest,
        )
