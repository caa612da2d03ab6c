"""Event arrays: accumulate parts, give each event a channel, build the canonical frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import polars as pl

from recsys.columns import DEFAULT_CHANNELS, Events
from recsys.columns import Columns as C
from recsys.data.generate.catalog import SimCatalog
from recsys.data.generate.customers import CustomerArrays, customer_ids, labels
from recsys.data.generate.sampling import sample_table, table_cdf
from recsys.data.generate.timeline import years_of
from recsys.data.schema import UTC_DATETIME

KIND: Final = {name: i for i, name in enumerate(Events.all)}
# Channel preference (DEFAULT_CHANNELS order: mobile, web, branch, call_center, atm) per
# group = 3 * digital_active + age class (<30, 30-64, 65+).
CHANNEL_PREFERENCE: Final = np.array(
    [
        [0.20, 0.15, 0.35, 0.15, 0.15],
        [0.10, 0.15, 0.40, 0.20, 0.15],
        [0.05, 0.05, 0.55, 0.25, 0.10],
        [0.60, 0.25, 0.05, 0.05, 0.05],
        [0.45, 0.30, 0.10, 0.10, 0.05],
        [0.25, 0.35, 0.20, 0.15, 0.05],
    ]
)
NO_CHANNEL: Final = -1


@dataclass
class EventParts:
    """Growing lists of aligned event arrays (customer, product, kind, ts, amount, channel)."""

    parts: list[tuple[np.ndarray, ...]] = field(default_factory=list)

    def add(
        self,
        customer: np.ndarray,
        product: np.ndarray,
        kind: str,
        ts: np.ndarray,
        amount: np.ndarray | None = None,
        channel: np.ndarray | None = None,
    ) -> None:
        """Append events of one kind; amount NaN = none; channel -1 = sample later."""
        n = len(customer)
        self.parts.append(
            (
                customer.astype(np.int32),
                product.astype(np.int16),
                np.full(n, KIND[kind], np.int8),
                ts.astype(np.int64),
                np.full(n, np.nan) if amount is None else amount.astype(np.float64),
                np.full(n, NO_CHANNEL, np.int8) if channel is None else channel.astype(np.int8),
            )
        )

    def columns(self) -> tuple[np.ndarray, ...]:
        """The concatenated arrays (customer, product, kind, ts, amount, channel)."""
        return tuple(np.concatenate(col) for col in zip(*self.parts, strict=True))


def sample_channels(
    rng: np.random.Generator,
    cust: CustomerArrays,
    catalog: SimCatalog,
    customer: np.ndarray,
    product: np.ndarray,
    ts: np.ndarray,
) -> np.ndarray:
    """A channel per event, from the customer's preferences among the product's channels."""
    age = years_of(ts) - cust.birth_year[customer]
    age_class = np.searchsorted(np.array([30, 65]), age, side="right")
    group = 3 * cust.digital[customer].astype(np.int64) + age_class
    table = CHANNEL_PREFERENCE[:, None, :] * catalog.channel_mask[None, :, :]
    cdf = table_cdf(table.reshape(-1, len(DEFAULT_CHANNELS)))
    return sample_table(rng, cdf, group * len(catalog) + product).astype(np.int8)


def events_frame(
    cols: tuple[np.ndarray, ...], catalog: SimCatalog, n_customers: int
) -> pl.DataFrame:
    """The events table in canonical dtypes, in time order (ties broken by ids, stably)."""
    customer, product, kind, ts, amount, channel = cols
    raw = pl.DataFrame(
        {
            "c": customer,
            "p": product,
            "k": kind,
            "t": ts,
            "a": amount,
            "ch": channel,
        }
    ).sort(["t", "c", "p", "k"], maintain_order=True)
    amounts = raw["a"]
    return pl.DataFrame(
        [
            customer_ids(n_customers).gather(raw["c"]).alias(C.customer_id),
            labels(tuple(catalog.ids.tolist()), raw["p"].to_numpy(), C.product_id),
            labels(Events.all, raw["k"].to_numpy(), C.event),
            raw["t"]
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone("UTC")
            .cast(UTC_DATETIME)
            .alias(C.timestamp),
            labels(DEFAULT_CHANNELS, raw["ch"].to_numpy(), C.channel),
            amounts.fill_nan(None).alias(C.amount),
        ]
    )
