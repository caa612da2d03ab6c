"""Per product: a Beta posterior of P(purchase | shown), from its prior and the store's counts.

The prior mean is the configured base rate scaled by the product's cold-start prior against
the catalog's (recsys.coldstart), worth `strength` impressions. Impressions and purchases
since the snapshot (RecordEvents, counted in the store) update it. A product explores while
it is new (few holders in the snapshot), has fewer than `max_impressions` impressions and a
posterior whose spread is still wide against its mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Counts:
    """Per product (internal id order): impressions, clicks and purchases since the snapshot."""

    impressions: np.ndarray  # int64 (n,)
    clicks: np.ndarray
    purchases: np.ndarray

    @classmethod
    def zeros(cls, n: int) -> Counts:
        """No events yet."""
        z = np.zeros(n, dtype=np.int64)
        return cls(z, z.copy(), z.copy())


@dataclass(frozen=True, eq=False)
class Posterior:
    """Beta(alpha, beta) per product, and which products are in exploration."""

    alpha: np.ndarray  # float64 (n,)
    beta: np.ndarray
    exploring: np.ndarray  # bool (n,)

    @property
    def mean(self) -> np.ndarray:
        """Posterior means."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def sd(self) -> np.ndarray:
        """Posterior standard deviations."""
        total = self.alpha + self.beta
        return np.sqrt(self.alpha * self.beta / (total**2 * (total + 1)))

    def sample(self, rng: np.random.Generator, rows: int) -> np.ndarray:
        """(rows, n) draws of each product's purchase rate (one per customer row)."""
        return rng.beta(self.alpha, self.beta, size=(rows, self.alpha.size))


def prior_means(prior_mean_by_product: np.ndarray, base_rate: float) -> np.ndarray:
    """Per product: `base_rate` times its cold-start prior relative to the catalog's mean."""
    p = np.asarray(prior_mean_by_product, dtype=np.float64)
    scale = p.mean() if p.size and p.mean() > 0 else 1.0
    return np.clip(base_rate * p / scale, 1e-4, 0.5)


def posterior(
    means: np.ndarray,
    counts: Counts,
    new: np.ndarray,
    *,
    strength: float,
    max_impressions: int,
    tight: float,
) -> Posterior:
    """Beta posteriors from prior means worth `strength` impressions, and the exploring mask:
    new products under `max_impressions` whose sd is above `tight` x mean."""
    shown = counts.impressions.astype(np.float64)
    bought = np.minimum(counts.purchases, counts.impressions).astype(np.float64)
    alpha = means * strength + bought
    beta = (1 - means) * strength + shown - bought
    post = Posterior(alpha, beta, np.zeros(means.size, dtype=bool))
    exploring = new & (counts.impressions < max_impressions) & (post.sd > tight * post.mean)
    return Posterior(alpha, beta, exploring)
