"""The simulation's outcome summed by experiment arm (one group when there is none)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

NO_ARM: Final = "(none)"  # answers that carry no experiment arm


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
            purchases: int) -> None:
        """Count one visit of `customer_id` answered by `arm` ("" = no experiment)."""
        t = self.arms.setdefault(arm or NO_ARM, ArmTally())
        t.versions.add(version)
        t.visits += 1
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
            }
            for arm, t in self.arms.items()
        ]
