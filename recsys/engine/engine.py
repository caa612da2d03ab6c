"""The Engine: the fitted models, the snapshot and the catalog a request pipeline runs on."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from recsys.coldstart.prior import ColdStartPrior
from recsys.columns import Columns as C
from recsys.engine.request import Answer, Request, answer
from recsys.engine.snapshot import Snapshot
from recsys.engine.state import BatchState, ProfileArrays, batch_state
from recsys.models.base import Features, Recommender
from recsys.models.reason import Reason
from recsys.models.registry import load_model
from recsys.offers.model import Offer
from recsys.offers.targeting import Reach, reach, target_profile
from recsys.ranking.calibration import Calibrator, load_calibrators, save_calibrators
from recsys.ranking.policy import ProductValues, product_values
from recsys.rules import Catalog, product_masks

if TYPE_CHECKING:
    from recsys.settings import RankingConfig

MANIFEST = "manifest.json"
PRODUCT_MASKS_KEPT = 64  # (day, channel) pairs: a day's channels, with room for the clock's turn
CALIBRATION = "calibration.npz"
COLD_START = "cold_start.npz"
MODEL, FALLBACK = "model", "fallback"  # the calibrators' names
FRAME_SCHEMA = {
    C.customer_id: pl.String,
    "rank": pl.Int64,
    C.product_id: pl.String,
    "score": pl.Float64,
    "reason": pl.String,
}


def at_noon(day: date) -> datetime:
    """A date as a UTC moment (noon); a datetime is taken as it is."""
    return day if isinstance(day, datetime) else datetime.combine(day, time(12), UTC)


class Engine:
    """A model, its fallback, the snapshot they were fitted on, and the bank's catalog rules."""

    def __init__(
        self,
        model: Recommender,
        fallback: Recommender,
        snapshot: Snapshot,
        *,
        excluded_categories: Mapping[str, Sequence[str]],
        purchase_weight: float = 1.0,
        manifest: Mapping[str, Any] | None = None,
        calibrators: Mapping[str, Calibrator] | None = None,
        prior: ColdStartPrior | None = None,
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
        self.product_names: list[str] = [str(n) for n in snapshot.products[C.name].to_list()]
        self.product_ids: list[str] = [str(p) for p in snapshot.product_map.ids.tolist()]
        self.profiles = ProfileArrays.of(snapshot.customers)
        # per model: its codes of every profiles.frame row (None: it reads the frame), made
        # on first use, so a request gathers its rows instead of encoding them
        self._codes: dict[Recommender, np.ndarray | None] = {}
        self._product_masks: dict[tuple[date, str | None], dict[str, np.ndarray]] = {}
        # score -> P(purchase) of the model and of the fallback (fitted on the holdout)
        self.calibrators: dict[str, Calibrator] = dict(calibrators or {})
        self._values: dict[tuple, ProductValues] = {}
        self.prior = prior  # products' cold-start prior (recsys.coldstart), None: none fitted

    def answer(self, request: Request) -> Answer:
        """The request pipeline (recsys.engine.request) on this engine."""
        return answer(self, request)

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

    def excluded_for(self, channel: str | None) -> tuple[str, ...]:
        """Categories the channel does not show; ValueError for a channel not configured."""
        if channel is None:
            return ()
        if channel not in self.excluded_categories:
            known = sorted(self.excluded_categories)
            raise ValueError(f"unknown channel {channel!r}; known: {known}")
        return self.excluded_categories[channel]

    def product_masks(self, day: date, channel: str | None) -> dict[str, np.ndarray]:
        """The rules that read only the product, on `day` in `channel`: made once per pair,
        since every request of that day and channel asks for the same ones."""
        key = (day, channel)
        found = self._product_masks.get(key)
        if found is None:
            excluded = self.excluded_for(channel)
            if len(self._product_masks) >= PRODUCT_MASKS_KEPT:
                self._product_masks.clear()
            found = product_masks(
                self.catalog, at=day, channel=channel, excluded_categories=excluded
            )
            self._product_masks[key] = found
        return found

    def exclude_mask(self, product_ids: Sequence[str]) -> np.ndarray | None:
        """(n,) bool, True = leave out; ids the catalog does not know are ignored."""
        if not product_ids:
            return None
        internal = self.snapshot.product_map.to_internal(product_ids, strict=False)
        mask = np.zeros(len(self.catalog), dtype=bool)
        mask[internal[internal >= 0]] = True
        return mask

    def model_features(self, model: Recommender, state: BatchState) -> Features:
        """What `model` reads of the state's profiles: its codes of the snapshot's rows
        (those of the context's rows encoded now), or the frame for a model without codes."""
        if model not in self._codes:
            self._codes[model] = model.encode_features(self.profiles.frame)
        table = self._codes[model]
        if table is None:
            return state.features
        codes = table[state.rows]  # row -1 is the unknown customer's
        given = state.from_context
        if given is not None and given.any():
            codes[given] = model.encode_features(state.features.filter(pl.Series(given)))
        return codes

    def scores(self, state: BatchState) -> tuple[np.ndarray, np.ndarray]:
        """(b, n) scores, and which rows fell back (model needs history, the row has none)."""
        history = state.history
        empty = ~history.any(axis=1)
        use_fallback = empty if self.model.needs_history else np.zeros_like(empty)
        scores = np.empty((len(state.rows), len(self.catalog)), dtype=np.float32)
        for model, rows in ((self.model, ~use_fallback), (self.fallback, use_fallback)):
            features = self.model_features(model, state)
            if rows.all():
                return model.score(history, state.rows, features), use_fallback
            if rows.any():
                picked = (
                    features[rows]
                    if isinstance(features, np.ndarray)
                    else features.filter(pl.Series(rows))
                )
                scores[rows] = model.score(history[rows], state.rows[rows], picked)
        return scores, use_fallback

    def probabilities(self, scores: np.ndarray, fallback: np.ndarray) -> np.ndarray | None:
        """(b, n) purchase probabilities of `scores` (each row by its model's calibrator);
        None when the bundle has no calibration (a model trained before it existed)."""
        if MODEL not in self.calibrators or FALLBACK not in self.calibrators:
            return None
        out = self.calibrators[MODEL](scores)
        if fallback.any():
            out[fallback] = self.calibrators[FALLBACK](scores[fallback])
        return out

    def values(
        self, values: Mapping[str, float], levers: Mapping[str, float], default_value: float
    ) -> ProductValues:
        """Each product's value and lever under this configuration (worked out once)."""
        key = (tuple(sorted(values.items())), tuple(sorted(levers.items())), default_value)
        found = self._values.get(key)
        if found is None:
            products = self.snapshot.products
            file_values = (
                products[C.value].cast(pl.Float64).fill_null(np.nan).to_numpy()
                if C.value in products.columns
                else np.full(products.height, np.nan)
            )
            found = self._values[key] = product_values(
                self.snapshot.product_map.ids.tolist(),
                self.catalog.category.tolist(),
                file_values,
                values=values,
                levers=levers,
                default_value=default_value,
            )
        return found

    def explainer(self, fallback: bool) -> Recommender:
        """The model that explains a row: the fallback where it answered."""
        return self.fallback if fallback else self.model

    def explain(
        self,
        history_row: np.ndarray,
        features: Features,
        products: Sequence[int],
        k: int,
        fallback: bool,
        citable: np.ndarray | None = None,
    ) -> list[list[Reason]]:
        """Up to k reasons (strongest first) for each of `products` suggested to one customer,
        citing only `citable` products ((n,) bool; None: any the history has)."""
        return self.explainer(fallback).explain_products(
            history_row, products, k, features=features, citable=citable
        )

    def reach(self, offer: Offer, at: date) -> Reach:
        """The offer's targeted customers in the snapshot, and how many the rules let through."""
        rows = np.arange(len(self.snapshot.customer_map))
        customers = self.profiles.take(rows)
        ids = self.snapshot.customer_map.ids
        profile = target_profile(ids, customers, self.snapshot.customers)
        return reach(
            offer,
            self.catalog,
            customers,
            self.snapshot.held,
            profile,
            at=at,
            excluded_categories=self.excluded_categories,
        )

    def recommend_frame(
        self,
        customer_ids: Sequence[str],
        k: int,
        *,
        holdings: Sequence[Sequence[str] | None] | None = None,
        channel: str | None = None,
        at: date | None = None,
        ranking: RankingConfig | None = None,
    ) -> pl.DataFrame:
        """One row per suggestion: customer_id, rank, product_id, score, reason."""
        when = at_noon(at) if at is not None else datetime.now(UTC)
        out = self.answer(
            Request(
                customer_ids, k, when, channel=channel, holdings=holdings, reasons=1,
                ranking=ranking,
            )
        )
        rows = [(r, item) for r in range(len(out.customer_ids)) for item in out.items(r)]
        products = np.array([item.product for _, item in rows], dtype=np.int64)
        return pl.DataFrame(
            {
                C.customer_id: [out.customer_ids[r] for r, _ in rows],
                "rank": [item.rank for _, item in rows],
                C.product_id: self.snapshot.product_map.to_external(products).tolist(),
                "score": [item.score for _, item in rows],
                "reason": [item.reasons[0].text for _, item in rows],
            },
            schema=FRAME_SCHEMA,
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
        if self.calibrators:
            save_calibrators(folder / CALIBRATION, self.calibrators)
        if self.prior is not None:
            self.prior.save(folder / COLD_START)
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
            calibrators=(
                load_calibrators(folder / CALIBRATION) if (folder / CALIBRATION).exists() else None
            ),
            prior=ColdStartPrior.load(folder / COLD_START)
            if (folder / COLD_START).exists()
            else None,
        )
