"""`recsys data prepare --engine spark`: raw events (Parquet) into the training input, the
interaction weights per (customer, product), aggregated on Spark.

The weights are recsys.data.interactions' (event type weight, halved every half-life back
from as_of, summed per pair, zero sums dropped), written with Spark's column functions (no
Python UDF). The result, customers x a few hundred products, fits one machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from recsys.columns import Columns as C

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_MICROS_PER_DAY = 86_400 * 1_000_000


def spark_interaction_weights(
    spark: SparkSession,
    events_path: str,
    *,
    weights: Mapping[str, float],
    half_life_days: float | None,
    as_of: datetime,
) -> DataFrame:
    """(customer_id, product_id, weight) of the events at `events_path`, as polars makes them."""
    from pyspark.sql import functions as F

    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (UTC)")
    events = spark.read.parquet(events_path)
    types = [r[0] for r in events.select(C.event).distinct().collect()]
    missing = sorted(t for t in types if t not in weights)
    if missing:
        raise ValueError(
            f"events, column {C.event}: no interaction weight for event type(s) {missing}; "
            f"weights are given for {sorted(weights)}"
        )
    used = {e: float(w) for e, w in weights.items() if w != 0.0}
    if not used:
        return spark.createDataFrame(
            [], f"{C.customer_id} string, {C.product_id} string, {C.weight} double"
        )
    as_of_micros = int(
        (as_of.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1e6
    )
    stamp = F.unix_micros(F.col(C.timestamp))
    weight = F.lit(None).cast("double")
    for event, w in used.items():
        weight = F.when(F.col(C.event) == event, F.lit(w)).otherwise(weight)
    if half_life_days is not None:
        age_days = (F.lit(as_of_micros) - stamp) / F.lit(float(_MICROS_PER_DAY))
        weight = weight * F.pow(F.lit(0.5), age_days / F.lit(float(half_life_days)))
    return (
        events.where((stamp <= F.lit(as_of_micros)) & F.col(C.event).isin(list(used)))
        .groupBy(C.customer_id, C.product_id)
        .agg(F.sum(weight).alias(C.weight))
        .where(F.col(C.weight) != 0.0)
        .orderBy(C.customer_id, C.product_id)
    )
