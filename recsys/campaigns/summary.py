"""A campaign's summary: customers targeted, reached, and blocked by each rule and reason.

A customer is counted under a rule when that rule alone removed every product for them (no
consent; every product held; over a contact limit...): a true statement about the customer
whatever the other rules did. Several rules may each block the same customer.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from recsys.campaigns.policy import PolicyBlock


@dataclass
class Tally:
    """Counts of a campaign run, added up chunk by chunk."""

    targeted: int = 0
    reached: int = 0
    nothing_left: int = 0  # no product survived the rules together
    refused: int = 0  # a contact recorded meanwhile (another process) filled a limit
    offer_missed: int = 0  # an --offer campaign: the offer was not placed (target, caps)
    by_rule: Counter[str] = field(default_factory=Counter)  # customers the rule left nothing
    removed: Counter[str] = field(default_factory=Counter)  # (customer, product) pairs removed
    by_policy: Counter[str] = field(default_factory=Counter)  # customers blocked, by reason

    def add(
        self,
        masks: dict[str, np.ndarray],
        block: PolicyBlock,
        *,
        items: np.ndarray,
        sent: np.ndarray,
        reached: np.ndarray,
    ) -> None:
        """Count one chunk: its rule masks and policy block, and per customer (b,) bool:
        the answer had items, a contact was asked for, the contact was recorded."""
        self.targeted += len(reached)
        self.reached += int(reached.sum())
        self.nothing_left += int((~items).sum())
        self.offer_missed += int((items & ~sent).sum())
        self.refused += int((sent & ~reached).sum())
        for rule, mask in masks.items():
            self.by_rule[rule] += int((~mask.any(axis=1)).sum())
            self.removed[rule] += int(mask.size - np.count_nonzero(mask))
        for reason, blocked in block.customers.items():
            self.by_policy[reason] += int(blocked.sum())
        for reason, suppressed in block.products.items():
            self.by_policy[reason] += int(suppressed.any(axis=1).sum())

    def merge(self, other: Tally) -> None:
        """Add another part's counts (Spark: one per batch)."""
        for name in ("targeted", "reached", "nothing_left", "refused", "offer_missed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("by_rule", "removed", "by_policy"):
            getattr(self, name).update(getattr(other, name))

    def to_json(self) -> str:
        """The counts as JSON (what a Spark batch hands back)."""
        return json.dumps({k: v for k, v in vars(self).items()})

    @classmethod
    def from_json(cls, text: str) -> Tally:
        """Counts written by `to_json`."""
        raw = json.loads(text)
        counters = {k: Counter(raw.pop(k)) for k in ("by_rule", "removed", "by_policy")}
        return cls(**raw, **counters)

    def rows(self) -> list[tuple[str, int]]:
        """(what, customers) lines of the summary table, in a fixed order."""
        out = [("targeted", self.targeted), ("reached", self.reached)]
        out += [(f"blocked by rule: {r}", n) for r, n in self.by_rule.items()]
        out += [(f"contact policy: {r}", n) for r, n in self.by_policy.items()]
        out.append(("contact policy: limit filled meanwhile", self.refused))
        if self.offer_missed:
            out.append(("offer not placed (target, caps)", self.offer_missed))
        out.append(("no product left", self.nothing_left))
        return out
