"""A campaign's output rows and decision-log entries, from one chunk's pipeline answer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import polars as pl

from recsys.columns import Columns as C
from recsys.engine.request import Answer
from recsys.rules import PAD_ID
from recsys.stores.sql_decisions import DecisionRow, decision_row

REQUEST_ID = "request_id"
OUTPUT_SCHEMA = {
    "campaign": pl.String,
    C.channel: pl.String,
    REQUEST_ID: pl.String,
    C.customer_id: pl.String,
    "rank": pl.Int32,
    C.product_id: pl.String,
    "score": pl.Float64,
    "reason_code": pl.String,
    "reason_text": pl.String,
    "offer_id": pl.String,
}
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def contact_frame(
    answer: Answer,
    rows: np.ndarray,
    request_ids: Sequence[str],
    product_ids: np.ndarray,
    *,
    campaign: str,
    channel: str,
) -> pl.DataFrame:
    """One row per product contacted: answer rows `rows` (request_ids[i] is rows[i]'s)."""
    ids = answer.ids[rows]
    keep = ids != PAD_ID
    r, j = np.nonzero(keep)
    reasons = [answer.reasons[rows[a]][b][0] for a, b in zip(r.tolist(), j.tolist(), strict=True)]
    slots = answer.slots[rows][r, j]
    offer_ids = [answer.offers[s].id if s >= 0 else None for s in slots.tolist()]
    n = len(r)
    return pl.DataFrame(
        {
            "campaign": [campaign] * n,
            C.channel: [channel] * n,
            REQUEST_ID: [request_ids[a] for a in r.tolist()],
            C.customer_id: [answer.customer_ids[rows[a]] for a in r.tolist()],
            "rank": (j + 1).astype(np.int32),
            C.product_id: product_ids[ids[r, j]].tolist(),
            "score": answer.scores[rows][r, j].astype(np.float64),
            "reason_code": [str(x.code) for x in reasons],
            "reason_text": [x.text for x in reasons],
            "offer_id": offer_ids,
        },
        schema=OUTPUT_SCHEMA,
    )


def decision_rows(
    answer: Answer,
    rows: np.ndarray,
    request_ids: Sequence[str],
    product_ids: np.ndarray,
    names: Sequence[str],
    *,
    channel: str,
    model_version: str,
    at: datetime,
) -> list[DecisionRow]:
    """The decision log's rows of the contacted answer rows (the shape Recommend logs)."""
    out = []
    for a, row in enumerate(rows.tolist()):
        items = []
        for s in answer.items(row):
            items.append(
                {
                    "rank": s.rank,
                    "product_id": str(product_ids[s.product]),
                    "name": names[s.product],
                    "score": s.score,
                    "reasons": [{"code": str(x.code), "text": x.text} for x in s.reasons],
                    "offer_id": s.offer.id if s.offer is not None else None,
                }
            )
        removed = {
            rule: product_ids[~mask[row]].tolist()
            for rule, mask in answer.masks.items()
            if not mask[row].all()
        }
        out.append(
            decision_row(
                request_ids[a],
                at,
                answer.customer_ids[row],
                channel,
                model_version,
                _dumps(items),
                _dumps(removed),
                a,
                fallback=bool(answer.fallback[row]),
                known=bool(answer.known[row]),
            )
        )
    return out
