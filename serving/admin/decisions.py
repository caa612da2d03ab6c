"""Decision-log entries (recsys.stores.sql_decisions.Decision) as recsys.v1 messages."""

from __future__ import annotations

from typing import Any

from recsys.stores.sql_decisions import Decision
from serving._proto.recsys.v1 import admin_pb2 as pb
from serving.offers.protos import timestamp


def decision_to_pb(d: Decision) -> pb.Decision:
    """One logged answer: its items with reasons and offers, and the rules' removals."""
    return pb.Decision(
        request_id=d.request_id,
        time=timestamp(d.at),
        channel=d.channel,
        model_version=d.model_version,
        items=[_item(i) for i in d.items],
        removed=[
            pb.RuleRemoval(rule=rule, product_ids=[str(p) for p in ids])
            for rule, ids in sorted(d.removed.items())
        ],
        experiment_id=d.experiment_id,
        arm=d.arm,
        unknown_customer=not d.known,
    )


def _item(item: dict[str, Any]) -> pb.DecisionItem:
    score = item.get("score")
    return pb.DecisionItem(
        rank=int(item.get("rank") or 0),
        product_id=str(item.get("product_id", "")),
        name=str(item.get("name") or ""),
        score=float(score) if isinstance(score, int | float) else 0.0,
        reasons=[
            pb.DecisionReason(code=str(r.get("code", "")), text=str(r.get("text", "")))
            for r in item.get("reasons") or []
        ],
        offer_id=str(item.get("offer_id") or ""),
    )
