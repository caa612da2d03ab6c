"""The Spark campaign's inputs: targeted customers, their events since the snapshot and their
contact history, written as Parquet by the driver (a bank's would be tables already) and
joined per customer, range-partitioned by the customer's position in the campaign."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from batch.campaign import Stores, read_recent
from batch.scoring import Campaign
from recsys.data.recent_events import RecentEvents
from recsys.engine.engine import Engine
from recsys.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

POS = "pos"  # the customer's position among the campaign's targets (the output's order)


def campaign_inputs(
    spark: SparkSession,
    engine: Engine,
    campaign: Campaign,
    settings: Settings,
    stores: Stores,
    targeted: list[str],
    folder: Path,
) -> DataFrame:
    """Targets with their events, contacts and touches as lists, range-partitioned by position."""
    from pyspark.sql import functions as F

    pos = {c: i for i, c in enumerate(targeted)}
    events, contacts, touches = [], [], []
    index = engine.snapshot.product_map
    size = settings.campaign_chunk_size
    for start in range(0, len(targeted), size):
        chunk = targeted[start : start + size]
        recent = read_recent(stores.events, chunk, engine.snapshot.as_of) or RecentEvents()
        events.append(
            pl.DataFrame(
                {
                    POS: [pos[c] for c in recent.customer_id],
                    "micros": recent.micros,
                    "seq": list(range(len(recent.micros))),
                    "product_id": recent.product_id,
                    "event": recent.event,
                },
                schema={
                    POS: pl.Int64,
                    "micros": pl.Int64,
                    "seq": pl.Int64,
                    "product_id": pl.String,
                    "event": pl.String,
                },
            )
        )
        seen, touched = stores.contacts.history(
            chunk,
            lambda ids: index.to_internal(ids, strict=False),
            settings.contact_policy,
            campaign.at,
        )
        contacts.append(_frame(start + seen.row, at=seen.at, channel=seen.channel))
        touches.append(
            _frame(start + touched.row, at=touched.at, product=touched.product, kind=touched.kind)
        )
    for name, parts in (("events", events), ("contacts", contacts), ("touches", touches)):
        pl.concat(parts).write_parquet(folder / f"{name}.parquet")
    pl.DataFrame(
        {POS: np.arange(len(targeted), dtype=np.int64), "customer_id": targeted},
        schema={POS: pl.Int64, "customer_id": pl.String},
    ).write_parquet(folder / "targets.parquet")
    read = {
        n: spark.read.parquet(str(folder / f"{n}.parquet"))
        for n in ("targets", "events", "contacts", "touches")
    }
    joined = read["targets"]
    for name in ("events", "contacts", "touches"):
        fields = [c for c in read[name].columns if c != POS]
        grouped = read[name].groupBy(POS).agg(F.collect_list(F.struct(*fields)).alias(name))
        joined = joined.join(grouped, POS, "left")
    parts = max(1, -(-len(targeted) // size))
    return joined.repartitionByRange(parts, POS).sortWithinPartitions(POS)


def _frame(rows: np.ndarray, **columns: np.ndarray) -> pl.DataFrame:
    out: dict[str, Any] = {POS: rows.astype(np.int64)}
    for name, values in columns.items():
        if values.dtype.kind == "M":
            out[name] = values.astype("datetime64[us]").astype(np.int64)
        elif values.dtype == object:
            out[name] = pl.Series(name, values.tolist(), dtype=pl.String)
        else:
            out[name] = values.astype(np.int64)
    return pl.DataFrame(out)
