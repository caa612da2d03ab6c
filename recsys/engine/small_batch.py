"""Hard rules for the few rows of a request: recsys.rules' results, less work per call.

A request scores one customer against a catalog of tens to hundreds of products, so the cost
is per numpy call, not per element. Three things are done once instead of per call:

- the product-only rules (on sale at a date, sold in a channel, category allowed there) are
  computed by `rule_masks` itself for a probe customer and kept per (day, channel); only the
  customer rules (suitability, age, held) are computed per request;
- for one customer, suitability and age are functions of one value each (risk tolerance;
  birth year and day), so their rows are computed by the rules themselves once per value and
  kept; the held row is read off the CSR row's cells; several customers' holdings are handed
  to the rules dense (a row of quantities), skipping the CSR bookkeeping.

(Top-k of one row is masked_topk's own fast path, recsys.rules.topk.)

`RequestRules` checks, when built, that the rules it treats as product-only do not change
with the customer (two very different probe customers give the same masks), so a customer
rule added to `rule_masks` later cannot be frozen into the cache unnoticed: the engine then
refuses to start until CUSTOMER_RULES names it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

import numpy as np
import scipy.sparse as sp

from recsys.rules import RULES, Catalog, CustomerBatch, rule_masks
from recsys.rules.eligibility import age_eligible
from recsys.rules.held import not_held
from recsys.rules.suitability import suitable

CUSTOMER_RULES: Final = ("suitability", "age", "held")  # what rule_masks reads the customer for
MAX_CACHED: Final = 256  # (day, channel) pairs kept; a day has a handful of channels
MAX_CACHED_CUSTOMER_ROWS: Final = 4096  # (birth year, day) pairs: ~100 years x a few days
_PROBES: Final = (  # two customers as different as the rule inputs allow
    CustomerBatch.from_arrays(
        birth_year=[1900], risk_tolerance=[1], marketing_consent=[False], segment=["a"]
    ),
    CustomerBatch.from_arrays(
        birth_year=[2020], risk_tolerance=[5], marketing_consent=[True], segment=["b"]
    ),
)


class RequestRules:
    """`rule_masks` for small batches, product-only rules cached per (day, channel)."""

    def __init__(self, catalog: Catalog, excluded_categories: dict[str, tuple[str, ...]]) -> None:
        self.catalog = catalog
        self.excluded_categories = excluded_categories
        self._fixed: dict[tuple[date, str | None], dict[str, np.ndarray]] = {}
        self._suitable: dict[int, np.ndarray] = {}  # risk tolerance -> (1, n) row
        self._age: dict[tuple[int, date], np.ndarray] = {}  # (birth year, day) -> (1, n) row
        self._blocks = ~catalog.repeatable  # held products that are not offered again
        self._check_product_only()

    def masks(
        self,
        customers: CustomerBatch,
        held: np.ndarray | sp.csr_matrix,
        *,
        at: date,
        channel: str | None,
    ) -> dict[str, np.ndarray]:
        """Exactly rule_masks(catalog, customers, held, at=at, channel=channel, excluded...).

        `held` is (b, n) quantities, dense or CSR. Like the product-only masks, the
        suitability and age rows of one customer are shared and read-only.
        """
        shape = (len(customers), len(self.catalog))
        if shape[0] == 1:
            found = {
                "suitability": self._suitable_row(customers),
                "age": self._age_row(customers, at),
                "held": self._not_held_row(held),
            }
        else:
            found = {
                "suitability": suitable(self.catalog, customers),
                "age": age_eligible(self.catalog, customers, at),
                "held": not_held(
                    self.catalog, dense_rows(held) if sp.issparse(held) else held, shape[0]
                ),
            }
        for name, row in self._product_only(at, channel).items():
            found[name] = row if shape[0] == 1 else np.broadcast_to(row, shape)
        return {name: found[name] for name in RULES if name in found}

    def _suitable_row(self, customer: CustomerBatch) -> np.ndarray:
        key = int(customer.risk_tolerance[0])
        row = self._suitable.get(key)
        if row is None:
            row = _shared(suitable(self.catalog, customer))
            self._suitable[key] = row  # at most 256 int8 values
        return row

    def _age_row(self, customer: CustomerBatch, at: date) -> np.ndarray:
        key = (int(customer.birth_year[0]), at.date() if isinstance(at, datetime) else at)
        row = self._age.get(key)
        if row is None:
            row = _shared(age_eligible(self.catalog, customer, at))
            if len(self._age) >= MAX_CACHED_CUSTOMER_ROWS:
                self._age.clear()
            self._age[key] = row
        return row

    def _not_held_row(self, held: np.ndarray | sp.csr_matrix) -> np.ndarray:
        """not_held of one customer; a CSR row with distinct columns is read cell by cell."""
        if not sp.issparse(held) or held.format != "csr" or held.shape[0] != 1:
            return not_held(self.catalog, dense_rows(held) if sp.issparse(held) else held, 1)
        cols = held.indices
        if len(cols) > 1 and not (cols[1:] > cols[:-1]).all():
            # unsorted, maybe repeated: repeated cells add up before "held" is decided
            return not_held(self.catalog, dense_rows(held), 1)
        if held.shape[1] != len(self.catalog):
            return not_held(self.catalog, held, 1)  # raises, naming the shapes
        allowed = np.ones((1, len(self.catalog)), dtype=bool)
        cols = cols[held.data > 0]
        allowed[0, cols[self._blocks[cols]]] = False
        return allowed

    def _product_only(self, at: date, channel: str | None) -> dict[str, np.ndarray]:
        key = (at, channel)
        fixed = self._fixed.get(key)
        if fixed is None:
            probe = self._probe(_PROBES[0], at, channel)
            fixed = {n: m for n, m in probe.items() if n not in CUSTOMER_RULES}
            if len(self._fixed) >= MAX_CACHED:
                self._fixed.clear()
            self._fixed[key] = fixed  # a race only computes the same masks twice
        return fixed

    def _probe(self, customers: CustomerBatch, at: date, channel: str | None) -> dict:
        excluded = self.excluded_categories.get(channel, ()) if channel else ()
        held = np.ones((1, len(self.catalog)))  # holds everything: the held rule says most
        masks = rule_masks(
            self.catalog, customers, held, at=at, channel=channel, excluded_categories=excluded
        )
        out = {name: np.array(m, copy=True) for name, m in masks.items()}  # own (1, n) rows
        for mask in out.values():
            mask.setflags(write=False)  # shared by requests, like rule_masks' broadcast views
        return out

    def _check_product_only(self) -> None:
        """ValueError if a rule outside CUSTOMER_RULES answers two probe customers differently."""
        day = date(2000, 1, 1)
        channel = next(iter(self.excluded_categories), None)
        first, second = (self._probe(p, day, channel) for p in _PROBES)
        moved = [
            n for n in first if n not in CUSTOMER_RULES and not np.array_equal(first[n], second[n])
        ]
        if moved:
            raise ValueError(f"rules {moved} depend on the customer; add them to CUSTOMER_RULES")


def _shared(mask: np.ndarray) -> np.ndarray:
    """A mask kept and handed to many requests: read-only, like rule_masks' broadcast views."""
    mask.setflags(write=False)
    return mask


def dense_rows(m: sp.csr_matrix) -> np.ndarray:
    """m.toarray() (duplicates summed) by bincount, which keeps the GIL where scipy lets go."""
    b, n = m.shape
    rows = np.repeat(np.arange(b), np.diff(m.indptr))
    flat = np.bincount(rows * n + m.indices, weights=m.data, minlength=b * n)
    return flat.reshape(b, n)
