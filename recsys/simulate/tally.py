"""The simulation's outcome summed by experiment arm (one group when there is none)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

NO_ARM: Final = "(none)"  # answers that carry no experiment arm
Z95: Final = 1.959964


@dataclass
class ArmTally:
    """Counts of one arm: visits, distinct customers, impressions, clicks, purchases."""

    visits: int = 0
    impressions: int = 0
    clicks: int = 0
    purchases: int = 0
    customers: set[str] = field(default_factory=set)
    buyers: set[str] = field(default_factory=set)
    versions: set[str] = field(default_factory=set)  # model versions that answered
    value: float = 0.0  # margin of the purchases (the products' value)
    value_sq: float = 0.0  # sum over visits of (a visit's value) squared, for intervals
    purchases_sq: int = 0
    bought_log: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)  # (visit, ids)

    def per_1000(self, total: float, total_sq: float) -> tuple[float, float, float]:
        """Per 1,000 answers: the mean of a per-visit quantity and its normal 95% interval."""
        n = self.visits
        if n == 0:
            return 0.0, 0.0, 0.0
        mean = total / n
        var = max(total_sq / n - mean * mean, 0.0) * n / max(n - 1, 1)
        half = Z95 * math.sqrt(var / n)
        return 1000 * mean, 1000 * (mean - half), 1000 * (mean + half)

    @property
    def ctr(self) -> float:
        """Clicks per impression (0 without impressions)."""
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def purchase_rate(self) -> float:
        """Purchases per assigned (visiting) customer."""
        return self.purchases / len(self.customers) if self.customers else 0.0


@dataclass
class Tally:
    """Per-arm tallies, in the order the arms first appeared."""

    arms: dict[str, ArmTally] = field(default_factory=dict)

    def add(self, arm: str, version: str, customer_id: str, impressions: int, clicks: int,
            purchases: int, value: float = 0.0, bought: tuple[str, ...] = ()) -> None:
        """Count one visit of `customer_id` answered by `arm` ("" = no experiment); `value`:
        the margin of what it bought (`bought`)."""
        t = self.arms.setdefault(arm or NO_ARM, ArmTally())
        t.versions.add(version)
        t.visits += 1
        t.value += value
        t.value_sq += value * value
        t.purchases_sq += purchases * purchases
        if bought:
            t.bought_log.append((t.visits, bought))
        t.impressions += impressions
        t.clicks += clicks
        t.purchases += purchases
        t.customers.add(customer_id)
        if purchases:
            t.buyers.add(customer_id)

    def total(self) -> ArmTally:
        """Every arm together (a customer counted once)."""
        out = ArmTally()
        for t in self.arms.values():
            out.visits += t.visits
            out.impressions += t.impressions
            out.clicks += t.clicks
            out.purchases += t.purchases
            out.customers |= t.customers
            out.buyers |= t.buyers
            out.versions |= t.versions
            out.value += t.value
            out.value_sq += t.value_sq
            out.purchases_sq += t.purchases_sq
        return out

    def rows(self) -> list[dict[str, object]]:
        """One plain row per arm, for printing or JSON."""
        return [
            {
                "arm": arm,
                "model_versions": sorted(t.versions),
                "visits": t.visits,
                "customers": len(t.customers),
                "impressions": t.impressions,
                "clicks": t.clicks,
                "ctr": t.ctr,
                "purchases": t.purchases,
                "purchase_rate": t.purchase_rate,
                "value": t.value,
                "value_per_1000_answers": t.per_1000(t.value, t.value_sq),
                "purchases_per_1000_answers": t.per_1000(t.purchases, t.purchases_sq),
                "bought_log": t.bought_log,
            }
            for arm, t in self.arms.items()
        ]
