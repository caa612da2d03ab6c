"""A weighted sum of other models' per-customer normalised scores, as one Recommender.

    score(u, j) = sum_m w_m * (s_m(u, j) - mean_j s_m(u, .)) / std_j s_m(u, .)

Each part's scores are standardised over the products for each customer, so parts on
different scales (probabilities, dot products, logits) add up; the weights are tuned on a
validation period (training/auto_search.py). The part with the largest weight explains.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from recsys.models.base import Features, History, Recommender
from recsys.models.reason import Reason
from recsys.models.train_data import TrainData


class BlendPart(BaseModel):
    """One model of the blend: its family and params."""

    model_config = ConfigDict(extra="forbid")
    family: str
    params: dict[str, Any] = Field(default_factory=dict)


class BlendConfig(BaseModel):
    """The parts and their weights (same length, weights >= 0, not all zero)."""

    model_config = ConfigDict(extra="forbid")
    parts: list[BlendPart] = Field(min_length=1)
    weights: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if len(self.parts) != len(self.weights):
            raise ValueError(f"{len(self.parts)} parts but {len(self.weights)} weights")
        if any(w < 0 for w in self.weights) or not any(w > 0 for w in self.weights):
            raise ValueError(f"weights must be >= 0 and not all 0, got {self.weights}")
        if any(p.family == "blend" for p in self.parts):
            raise ValueError("a blend cannot hold a blend")
        return self


def standardised(scores: np.ndarray) -> np.ndarray:
    """Each row minus its mean, over its standard deviation (a constant row gives zeros)."""
    s = scores.astype(np.float64)
    s -= s.mean(axis=1, keepdims=True)
    std = s.std(axis=1, keepdims=True)
    return s / np.where(std > 0, std, 1.0)


class BlendRecommender(Recommender):
    """Weighted sum of standardised part scores."""

    family = "blend"
    Config = BlendConfig
    history_format = "dense"
    config: BlendConfig

    @classmethod
    def of_fitted(
        cls, parts: list[Recommender], weights: list[float], params: list[dict] | None = None
    ) -> BlendRecommender:
        """A blend of parts fitted already (the search tries weights without refitting);
        `params`: each part's params as configured (default: its whole config)."""
        given = params or [p.config.model_dump(exclude_none=True) for p in parts]
        config = BlendConfig(
            parts=[BlendPart(family=p.family, params=q) for p, q in zip(parts, given, strict=True)],
            weights=weights,
        )
        blend = cls(config)
        blend._set_parts(parts)
        blend.n_products = parts[0].n_products
        return blend

    def _fit(self, train: TrainData) -> None:
        from recsys.models.registry import build_model  # the registry lists this family

        self._set_parts([build_model(p.family, p.params).fit(train) for p in self.config.parts])

    def _set_parts(self, parts: list[Recommender]) -> None:
        self.parts = parts
        # customers with no history get the parts that score them (see needs_history)
        self.needs_history = all(p.needs_history for p in parts)
        self.uses_features = any(p.uses_features for p in parts)
        self._explainer = parts[int(np.argmax(self.config.weights))]

    def _score(
        self,
        history: History,
        customer_rows: np.ndarray | None,
        features: Features | None,
    ) -> np.ndarray:
        total = np.zeros(history.shape, dtype=np.float64)
        for part, weight in zip(self.parts, self.config.weights, strict=True):
            if weight > 0:
                given = features if part.uses_features else None
                total += weight * standardised(part.score(history, customer_rows, given))
        return total

    def _explain_products(
        self,
        history: History,
        products: list[int],
        k: int,
        features: Features | None,
        citable: np.ndarray,
    ) -> list[list[Reason]]:
        part = self._explainer
        given = features if part.uses_features else None
        return part.explain_products(history, products, k, features=given, citable=citable)

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        states, arrays = [], {}
        for i, part in enumerate(self.parts):
            state, part_arrays = part._state()
            # as Recommender.save writes it: a part's _restore may read n_products
            states.append({"state": {**state, "n_products": part.n_products}})
            arrays |= {f"{i}/{name}": value for name, value in part_arrays.items()}
        return {"parts": states}, arrays

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        from recsys.models.registry import build_model

        parts = []
        for i, (spec, saved) in enumerate(zip(self.config.parts, state["parts"], strict=True)):
            part = build_model(spec.family, spec.params)
            prefix = f"{i}/"
            own = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            part._restore(saved["state"], own)
            part.n_products = int(saved["state"]["n_products"])
            parts.append(part)
        self._set_parts(parts)
