"""The cold-start prior on the unseen-products protocol, against a flat prior."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.coldstart.features import bought_categories
from recsys.coldstart.prior import DEFAULT_RIDGE, ColdStartPrior, fit_prior
from recsys.columns import DEFAULT_CHANNELS, Events
from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.data.idmap import IdMap
from recsys.engine.state import rule_inputs
from recsys.evaluation.unseen import (
    UnseenSplit,
    customer_auc,
    flat_metrics,
    ranking_metrics,
    truth_rows,
)
from recsys.rules import Catalog
from recsys.rules.eligibility import active_at, age_eligible
from recsys.rules.suitability import suitable

FIT_DAYS: Final = 365  # the prior learns from the purchases of the last year before the cutoff


def purchase_matrix(
    events: pl.DataFrame, customers: pl.DataFrame, products: pl.DataFrame
) -> sp.csr_matrix:
    """(customers, products) 0/1 in frame order: the customer bought the product."""
    bought = events.filter(pl.col(C.event) == Events.purchase).select(C.customer_id, C.product_id)
    # IdMap(ids) keeps the frames' order (from_values would sort)
    rows = IdMap(customers[C.customer_id].to_numpy()).to_internal(
        bought[C.customer_id].to_list(), strict=False
    )
    cols = IdMap(products[C.product_id].to_numpy()).to_internal(
        bought[C.product_id].to_list(), strict=False
    )
    keep = (rows >= 0) & (cols >= 0)
    m = sp.csr_matrix(
        (np.ones(int(keep.sum())), (rows[keep], cols[keep])),
        shape=(customers.height, products.height),
    )
    m.data[:] = 1.0  # duplicates summed: bought at all
    return m


def fit_on_split(
    data: BankData, split: UnseenSplit, ridge: float = DEFAULT_RIDGE, recent_days: int = FIT_DAYS
) -> ColdStartPrior:
    """The prior fitted on the split's purchases of its seen products in the `recent_days`
    before the cutoff, given the categories each customer bought before those."""
    return fit_recent(data.customers, data.products, split.train, split.cutoff, ridge, recent_days)


def fit_recent(
    customers: pl.DataFrame,
    products: pl.DataFrame,
    events: pl.DataFrame,
    as_of: datetime,
    ridge: float = DEFAULT_RIDGE,
    recent_days: int = FIT_DAYS,
) -> ColdStartPrior:
    """The prior of `events` up to `as_of`: purchases of the last `recent_days` against the
    categories bought before them (the products `events` never name are left out)."""
    start = as_of - timedelta(days=recent_days)
    ts = pl.col(C.timestamp)
    named = products.filter(pl.col(C.product_id).is_in(events[C.product_id].unique().implode()))
    recent = events.filter((ts >= start) & (ts < as_of))
    earlier = bought_categories(events.filter(ts < start), customers, products)
    bought = purchase_matrix(recent, customers, named)
    return fit_prior(customers, named, bought, as_of.date(), ridge, before=earlier)


def evaluate_unseen(
    data: BankData, split: UnseenSplit, ridge: float = DEFAULT_RIDGE
) -> dict[str, dict[str, float]]:
    """Figures of the attribute prior and of a flat prior on the unseen products."""
    prior = fit_on_split(data, split, ridge)
    customers, truth = truth_rows(split)
    wanted = pl.DataFrame({C.customer_id: customers})
    frame = wanted.join(data.customers, on=C.customer_id, how="left", maintain_order="left")
    unseen = pl.DataFrame({C.product_id: list(split.unseen)}).join(
        data.products, on=C.product_id, how="left", maintain_order="left"
    )
    before = bought_categories(
        split.train.filter(pl.col(C.timestamp) < split.cutoff), frame, data.products
    )
    allowed = _allowed(frame, unseen, split.cutoff)
    out = {
        "prior": ranking_metrics(prior.scores(frame, unseen, before), truth, allowed),
        "flat": flat_metrics(truth, allowed),
    }
    # every customer: are the buyers of each unseen product the ones the prior picks?
    everyone = data.customers
    past = bought_categories(
        split.train.filter(pl.col(C.timestamp) < split.cutoff), everyone, data.products
    )
    bought = (
        purchase_matrix(
            split.test.with_columns(pl.lit(Events.purchase).alias(C.event)), everyone, unseen
        ).toarray()
        > 0
    )
    scores = prior.scores(everyone, unseen, past)
    fair = _allowed(everyone, unseen, split.cutoff)
    out["prior"]["customer_auc"] = customer_auc(scores, bought, fair)
    out["flat"]["customer_auc"] = customer_auc(np.zeros(scores.shape), bought, fair)
    return out


def _allowed(customers: pl.DataFrame, products: pl.DataFrame, at: datetime) -> np.ndarray:
    """Suitability, age and sale window of the unseen products for the test customers."""
    ids = IdMap(products[C.product_id].to_numpy())
    catalog = Catalog.from_frame(products, ids, list(DEFAULT_CHANNELS))
    batch = rule_inputs(customers)
    day = at.date()
    return suitable(catalog, batch) & age_eligible(catalog, batch, day) & active_at(catalog, day)
