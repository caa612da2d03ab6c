"""The canonical dataset held in memory: three typed, validated polars frames."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class BankData:
    """Customers, products and events after validation (canonical dtypes, see schema.py)."""

    customers: pl.DataFrame
    products: pl.DataFrame
    events: pl.DataFrame

    def summary(self) -> dict[str, int]:
        """Row counts per table."""
        return {
            "customers": self.customers.height,
            "products": self.products.height,
            "events": self.events.height,
        }
