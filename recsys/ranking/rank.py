"""The pipeline's ranking step: what the top-k orders the allowed products by, under a policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from recsys.ranking.policy import ProductValues, value_keys
from recsys.rules import PAD_ID

if TYPE_CHECKING:
    from recsys.engine.engine import Engine
    from recsys.settings import RankingConfig


@dataclass(frozen=True, eq=False)
class Ranked:
    """Ranking keys (b, n), and the probabilities and values behind them when known."""

    keys: np.ndarray
    probability: np.ndarray | None  # (b, n) float32; None: no policy, or no calibration
    values: ProductValues | None
    policy: str

    def at(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(probability, value, lever) of the ranked ids (b, k), 0 where padded; None when
        the probabilities are not known."""
        if self.probability is None or self.values is None:
            return None
        real = ids != PAD_ID
        safe = np.where(real, ids, 0)
        p = np.take_along_axis(self.probability, safe, axis=1)
        return (
            np.where(real, p, 0.0).astype(np.float32),
            np.where(real, self.values.value[safe], 0.0).astype(np.float32),
            np.where(real, self.values.lever[safe], 0.0).astype(np.float32),
        )


def rank(
    engine: Engine, scores: np.ndarray, fallback: np.ndarray, config: RankingConfig | None
) -> Ranked:
    """Keys by the configured policy: the scores (`propensity`), or P x value x lever (`value`).

    A model bundle without calibration has no probabilities: it is ranked by its scores
    whatever the policy (the server warns when it loads one under `value`).
    """
    if config is None:
        return Ranked(scores, None, None, "propensity")
    probability = engine.probabilities(scores, fallback)
    values = engine.values(config.values, config.levers, config.default_value)
    if probability is None or config.policy == "propensity":
        return Ranked(scores, probability, values, "propensity")
    keys = value_keys(probability, values, config.min_probability)
    # a product the model can never recommend (-inf) stays out under every policy
    keys = np.where(np.isneginf(scores), np.float32(-np.inf), keys)
    return Ranked(keys, probability, values, "value")
