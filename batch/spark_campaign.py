"""`recsys campaign run --engine spark`: the campaign's scoring on Spark, through the same
pipeline code (batch.scoring.score_chunk) in `mapInPandas`, with the model bundle broadcast.

The driver writes the job's inputs as Parquet (targeted customers, their events since the
snapshot, their contact history: a bank's would be tables already), Spark joins each
customer's rows onto them and scores Arrow batches; the driver then reserves the contacts
under the contact policy in batches, writes the file and the decision log, exactly as the
single-machine path does, in the same customer order. Offers are not placed on Spark yet (their
caps are reserved in the store per slot): a campaign with live offers or --offer runs locally.
"""

from __future__ import annotations

import functools
import hashlib
import io
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import polars as pl

from batch.campaign import (
    CampaignError,
    CampaignResult,
    Progress,
    Stores,
    check_campaign,
)
from batch.files import ContactWriter
from batch.scoring import Campaign, ScoringRules, request_id, score_chunk, targets
from batch.spark_inputs import POS, campaign_inputs
from recsys.campaigns.output import OUTPUT_SCHEMA, contact_frame, decision_rows
from recsys.campaigns.policy import Contacts, Touches
from recsys.campaigns.summary import Tally
from recsys.data.recent_events import RecentEvents
from recsys.engine.engine import Engine
from recsys.rules import PAD_ID
from recsys.settings import Settings
from recsys.stores.sql_contacts import ContactItem, Message
from recsys.stores.sql_decisions import decision_row

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ITEMS, REMOVED, FALLBACK, TALLY = "items_json", "removed_json", "fallback", "tally"
_SPARK_TYPES = {pl.String: "string", pl.Int32: "int", pl.Float64: "double"}
_ENGINES: dict[str, Engine] = {}  # per worker process: bundle digest -> loaded engine


def run_campaign_spark(
    spark: SparkSession,
    engine: Engine,
    campaign: Campaign,
    settings: Settings,
    stores: Stores,
    out: Path,
    *,
    model_version: str,
    customer_ids: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> CampaignResult:
    """The campaign scored on Spark; contacts reserved, written and logged from the driver."""
    check_campaign(campaign, settings)
    if campaign.offer_id is not None:
        raise CampaignError("--offer: offers are placed by the local engine only (--engine local)")
    targeted = (
        list(dict.fromkeys(customer_ids))
        if customer_ids is not None
        else targets(engine, campaign.segments)
    )
    rules = ScoringRules.of(settings, campaign.channel)
    spark.conf.set(
        "spark.sql.execution.arrow.maxRecordsPerBatch", str(settings.campaign_chunk_size)
    )
    with tempfile.TemporaryDirectory(prefix="campaign-spark-") as work:
        folder = Path(work)
        inputs = campaign_inputs(spark, engine, campaign, settings, stores, targeted, folder)
        data = _bundle(engine, folder / "bundle")
        bundle = spark.sparkContext.broadcast(data)
        key = hashlib.sha256(data).hexdigest()
        score = functools.partial(_score_batches, bundle, key, campaign, rules, model_version)
        scored = inputs.mapInPandas(score, _schema())
        scored.write.parquet(str(folder / "scored"))
        bundle.unpersist()
        return _record(campaign, settings, stores, out, folder / "scored", model_version, progress)


def _score_batches(
    bundle: Any,
    key: str,
    campaign: Campaign,
    rules: ScoringRules,
    model_version: str,
    batches: Iterator[pd.DataFrame],
) -> Iterator[pd.DataFrame]:
    """mapInPandas: each Arrow batch through score_chunk; contact rows, then the batch's tally."""
    engine = _engine(bundle, key)
    product_ids = engine.snapshot.product_map.ids.astype(str)
    for batch in batches:
        ids = batch["customer_id"].tolist()
        scored = score_chunk(
            engine,
            campaign,
            rules,
            ids,
            events=_events(batch, ids),
            contacts=_contacts(batch),
            touches=_touches(batch),
        )
        answer = scored.answer
        rows = np.flatnonzero(scored.sent)
        rids = [request_id(campaign.run_id, ids[r]) for r in rows.tolist()]
        frame = contact_frame(
            answer, rows, rids, product_ids, campaign=campaign.name, channel=campaign.channel
        ).to_pandas()
        logged = decision_rows(
            answer,
            rows,
            rids,
            product_ids,
            engine.product_names,
            channel=campaign.channel,
            model_version=model_version,
            at=campaign.at,
        )
        which, _ = np.nonzero(answer.ids[rows] != PAD_ID)
        frame.insert(0, POS, batch[POS].to_numpy()[rows][which])
        first = frame["rank"].to_numpy() == 1
        frame[ITEMS] = None
        frame[REMOVED] = None
        frame.loc[first, ITEMS] = [d[5] for d in logged]
        frame.loc[first, REMOVED] = [d[6] for d in logged]
        frame[FALLBACK] = None
        frame.loc[first, FALLBACK] = [bool(answer.fallback[r]) for r in rows.tolist()]
        frame[TALLY] = None
        tally = Tally()
        tally.add(
            answer.masks, scored.block, items=scored.items, sent=scored.sent, reached=scored.sent
        )
        yield frame
        empty = {c: pd.Series([None], dtype=object) for c in frame.columns}
        yield pd.DataFrame(empty | {TALLY: pd.Series([tally.to_json()], dtype=object)})


def _events(batch: pd.DataFrame, ids: list[str]) -> RecentEvents:
    out = RecentEvents()
    for i, cell in enumerate(batch["events"].tolist()):
        if cell is None or len(cell) == 0:
            continue
        for e in sorted(cell, key=lambda d: (d["micros"], d["seq"])):
            out.customer_id.append(ids[i])
            out.product_id.append(e["product_id"])
            out.event.append(e["event"])
            out.micros.append(int(e["micros"]))
    return out


def _contacts(batch: pd.DataFrame) -> Contacts:
    rows, channel, at = _explode(batch["contacts"].tolist(), ("channel", "at"))
    return Contacts(rows, np.array(channel, dtype=object), np.array(at, dtype="datetime64[us]"))


def _touches(batch: pd.DataFrame) -> Touches:
    rows, product, kind, at = _explode(batch["touches"].tolist(), ("product", "kind", "at"))
    return Touches(
        rows,
        np.array(product, dtype=np.int64),
        np.array(kind, dtype=object),
        np.array(at, dtype="datetime64[us]"),
    )


def _explode(cells: list, fields: tuple[str, ...]) -> tuple:
    rows: list[int] = []
    values: list[list] = [[] for _ in fields]
    for i, cell in enumerate(cells):
        if cell is None:
            continue
        for entry in cell:
            rows.append(i)
            for j, f in enumerate(fields):
                values[j].append(entry[f])
    return (np.array(rows, dtype=np.int64), *values)


def _record(
    campaign: Campaign,
    settings: Settings,
    stores: Stores,
    out: Path,
    scored: Path,
    model_version: str,
    progress: Progress | None,
) -> CampaignResult:
    """Reserve, write and log the scored contacts, part file by part file (in position order)."""
    tally = Tally()
    writer = ContactWriter(out)
    columns = list(OUTPUT_SCHEMA)
    try:
        for part in sorted(scored.glob("part-*.parquet")):
            frame = pl.read_parquet(part)
            for text in frame.filter(pl.col(TALLY).is_not_null())[TALLY].to_list():
                part_tally = Tally.from_json(text)
                tally.merge(part_tally)
                if progress is not None:
                    progress(part_tally.targeted)
            rows = frame.filter(pl.col(TALLY).is_null()).sort(POS, "rank")
            if not rows.height:
                continue
            accepted = _reserve(campaign, settings, stores, rows)
            kept = rows.filter(pl.col("request_id").is_in(accepted))
            writer.write(kept.select(columns).cast(OUTPUT_SCHEMA))
            refused = rows.filter(pl.col("rank") == 1).height - len(accepted)
            tally.reached -= refused
            tally.refused += refused
            if stores.decisions is not None:
                firsts = kept.filter(pl.col("rank") == 1)
                stores.decisions.append_rows(
                    [
                        decision_row(
                            r["request_id"],
                            campaign.at,
                            r["customer_id"],
                            campaign.channel,
                            model_version,
                            r[ITEMS],
                            r[REMOVED],
                            i,
                            fallback=bool(r[FALLBACK]),
                        )
                        for i, r in enumerate(firsts.iter_rows(named=True))
                    ]
                )
    finally:
        writer.close()
    return CampaignResult(campaign.run_id, out, writer.rows, tally)


def _reserve(
    campaign: Campaign, settings: Settings, stores: Stores, rows: pl.DataFrame
) -> set[str]:
    """Reserve the contacts of `rows` (sorted by position and rank); the request ids recorded."""
    messages = [
        Message(
            group["customer_id"][0],
            rid,
            tuple(
                ContactItem(p, int(k), o)
                for p, k, o in group.select("product_id", "rank", "offer_id").iter_rows()
            ),
        )
        for (rid,), group in rows.group_by("request_id", maintain_order=True)
    ]
    accepted = stores.contacts.reserve(
        campaign=campaign.name,
        run_id=campaign.run_id,
        channel=campaign.channel,
        messages=messages,
        policy=settings.contact_policy,
        now=campaign.at,
    )
    return {m.request_id for m, ok in zip(messages, accepted.tolist(), strict=True) if ok}


def _schema() -> str:
    """mapInPandas' output: the contact columns, the position, the decision JSON, a tally."""
    fields = [f"{POS} long"]
    fields += [f"{name} {_SPARK_TYPES[dtype]}" for name, dtype in OUTPUT_SCHEMA.items()]
    fields += [f"{ITEMS} string", f"{REMOVED} string", f"{FALLBACK} boolean", f"{TALLY} string"]
    return ", ".join(fields)


def _bundle(engine: Engine, folder: Path) -> bytes:
    """The engine as saved (models, snapshot, manifest: no pickle), as tar bytes."""
    engine.save(folder)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(folder, arcname="engine")
    return buffer.getvalue()


def _engine(bundle: Any, key: str) -> Engine:
    """The broadcast engine, loaded once per worker process (`key`: its bytes' digest)."""
    if key not in _ENGINES:
        target = Path(tempfile.mkdtemp(prefix="campaign-engine-"))
        with tarfile.open(fileobj=io.BytesIO(bundle.value), mode="r") as tar:
            tar.extractall(target, filter="data")
        _ENGINES[key] = Engine.load(target / "engine")
    return _ENGINES[key]
