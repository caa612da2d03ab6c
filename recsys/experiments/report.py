"""An experiment's report from its decisions and events: per arm, lift, SRM, guardrails.

Pure: polars frames in, a Report out. Who is in which arm comes from the decision log (each
answer carries its experiment and arm); impressions and clicks are the events that name an
answer of the experiment (request_id); a purchase counts for an arm when the customer bought a
product the arm had shown them, within the attribution window after the impression.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
import polars as pl

from recsys.experiments import stats
from recsys.experiments.model import CHAMPION, Experiment
from recsys.experiments.value import arm_value

LOOKS: Final = 20  # checkpoints of the cumulative series (the plot, the sequential test)
FALLBACK_SHARE_SLACK: Final = 0.05  # a challenger may answer by fallback this much more often
LATENCY_P99_RATIO: Final = 1.5  # ... and be this much slower at p99
LATENCY_P99_SLACK_MS: Final = 5.0  # (a few ms either way is noise on a busy machine)
DECISION_COLUMNS: Final = (
    "customer_id",
    "arm",
    "request_id",
    "at",
    "fallback",
    "latency_ms",
    "violations",
)
EVENT_COLUMNS: Final = ("customer_id", "product_id", "event", "timestamp", "request_id")


@dataclass(frozen=True)
class ArmReport:
    """One arm's counts, rates and guardrails."""

    arm: str
    share: float
    model_versions: list[str]
    assigned: int
    exposed: int
    impressions: int
    clicks: int
    ctr: float
    purchases: int
    purchase_rate: float  # per assigned customer (intent to treat, the primary metric)
    purchase_rate_exposed: float
    suitability_violations: int
    fallback_share: float
    latency_p99_ms: float  # NaN when no answer of the arm logged its latency
    lift: stats.Lift | None = None  # against the champion (None for the champion itself)
    answers: int = 0
    # margin of the attributed purchases (products' logged values; recsys.experiments.value)
    value: float = 0.0
    value_per_1000_answers: float = 0.0
    value_per_1000_low: float = 0.0
    value_per_1000_high: float = 0.0


@dataclass(frozen=True)
class Point:
    """The cumulative purchase rate of one arm at one look, with its 95% band."""

    at: datetime
    arm: str
    customers: int
    rate: float
    low: float
    high: float


@dataclass(frozen=True)
class Report:
    """The whole report of one experiment at one moment."""

    experiment_id: str
    name: str
    status: str
    at: datetime
    attribution_days: float
    arms: list[ArmReport]
    srm: stats.Srm
    series: list[Point] = field(default_factory=list)

    def arm(self, name: str) -> ArmReport | None:
        """The report of arm `name` (None when the experiment has no such arm)."""
        return next((a for a in self.arms if a.arm == name), None)

    def guardrail_problems(self, treatment: str) -> list[str]:
        """What keeps `treatment` from replacing the champion (empty: every guardrail holds)."""
        out: list[str] = []
        if self.srm.flagged:
            out.append(
                f"sample ratio mismatch (p = {self.srm.p_value:.2g}): the split is not "
                "the configured one, so the result cannot be trusted"
            )
        for a in self.arms:
            if a.suitability_violations:
                out.append(f"arm {a.arm}: {a.suitability_violations} suitability violations")
        base, arm = self.arm(CHAMPION), self.arm(treatment)
        if base is None or arm is None:
            return [*out, f"no {treatment} arm to compare with the champion"]
        if arm.fallback_share > base.fallback_share + FALLBACK_SHARE_SLACK:
            out.append(
                f"arm {treatment}: {arm.fallback_share:.1%} of answers by the fallback "
                f"against the champion's {base.fallback_share:.1%}"
            )
        limit = max(
            base.latency_p99_ms * LATENCY_P99_RATIO, base.latency_p99_ms + LATENCY_P99_SLACK_MS
        )
        if arm.latency_p99_ms > limit:  # False when either p99 is NaN (no latency logged)
            out.append(
                f"arm {treatment}: p99 latency {arm.latency_p99_ms:.1f} ms against the "
                f"champion's {base.latency_p99_ms:.1f} ms"
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (datetimes as ISO text, NaN as None)."""
        return _plain(asdict(self))


def empty_decisions() -> pl.DataFrame:
    """A decisions frame with no rows, in the schema `build` reads."""
    return pl.DataFrame(
        schema={
            "customer_id": pl.String,
            "arm": pl.String,
            "request_id": pl.String,
            "at": pl.Datetime("us", "UTC"),
            "fallback": pl.Boolean,
            "latency_ms": pl.Float64,
            "violations": pl.Int64,
            "model_version": pl.String,
        }
    )


def empty_events() -> pl.DataFrame:
    """An events frame with no rows, in the schema `build` reads."""
    return pl.DataFrame(
        schema={
            "customer_id": pl.String,
            "product_id": pl.String,
            "event": pl.String,
            "timestamp": pl.Datetime("us", "UTC"),
            "request_id": pl.String,
        }
    )


def build(
    experiment: Experiment,
    decisions: pl.DataFrame,
    events: pl.DataFrame,
    at: datetime,
    looks: int = LOOKS,
    values: Mapping[str, float] | None = None,
) -> Report:
    """The report of `experiment` from its decisions and its customers' events; `values`:
    product id -> margin per sale, for the arms' value per 1,000 answers."""
    window = timedelta(days=experiment.attribution_days)
    first = decisions.group_by("customer_id").agg(pl.col("arm").first(), pl.col("at").min())
    arm_of = decisions.select("request_id", "arm").unique("request_id")
    shown = events.join(arm_of, on="request_id", how="inner")
    impressions = shown.filter(pl.col("event") == "impression")
    bought = attributed(events, impressions, window)
    lasts = [decisions["at"].max()] if len(decisions) else []
    checkpoints = _checkpoints(decisions["at"].min(), lasts[0], looks) if lasts else []
    buyers = {a: _Buyers.of(first, bought, a) for a in experiment.arm_names}
    per_customer = {a: b.counts() for a, b in buyers.items()}
    base = stats.Sample.of(per_customer[CHAMPION]) if CHAMPION in per_customer else None
    base_looks = [buyers[CHAMPION].sample(t) for t in checkpoints] if base is not None else []
    arms: list[ArmReport] = []
    for a in experiment.arms:
        mine = decisions.filter(pl.col("arm") == a.name)
        imp = impressions.filter(pl.col("arm") == a.name)
        n_assigned = int(mine["customer_id"].n_unique())
        n_exposed = int(imp["customer_id"].n_unique())
        n_imp = len(imp)
        n_click = len(shown.filter((pl.col("arm") == a.name) & (pl.col("event") == "click")))
        n_buy = int(per_customer[a.name].sum())
        worth = arm_value(decisions, bought, values or {}, a.name)
        lift = None
        if a.name != CHAMPION and base is not None:
            looks_ab = [
                (buyers[a.name].sample(t), b) for t, b in zip(checkpoints, base_looks, strict=True)
            ]
            lift = stats.lift(
                stats.Sample.of(per_customer[a.name]),
                base,
                looks_ab,
                tau2=stats.tau2_for(base.mean),
            )
        arms.append(
            ArmReport(
                arm=a.name,
                share=a.share,
                model_versions=sorted(mine["model_version"].unique().to_list())
                if "model_version" in mine.columns
                else [],
                assigned=n_assigned,
                exposed=n_exposed,
                impressions=n_imp,
                clicks=n_click,
                ctr=n_click / n_imp if n_imp else 0.0,
                purchases=n_buy,
                purchase_rate=n_buy / n_assigned if n_assigned else 0.0,
                purchase_rate_exposed=n_buy / n_exposed if n_exposed else 0.0,
                suitability_violations=int(mine["violations"].sum()),
                fallback_share=float(mine["fallback"].mean()) if len(mine) else 0.0,
                latency_p99_ms=_p99(mine["latency_ms"]),
                lift=lift,
                answers=len(mine),
                value=worth.value,
                value_per_1000_answers=worth.per_1000,
                value_per_1000_low=worth.low,
                value_per_1000_high=worth.high,
            )
        )
    srm = stats.srm([a.assigned for a in arms], experiment.shares)
    series = [buyers[a].point(a, t) for t in checkpoints for a in experiment.arm_names]
    return Report(
        experiment.id,
        experiment.name,
        str(experiment.status),
        at,
        experiment.attribution_days,
        arms,
        srm,
        series,
    )


def attributed(events: pl.DataFrame, impressions: pl.DataFrame, window: timedelta) -> pl.DataFrame:
    """Purchases of a product the customer was shown (in `impressions`, with their arm) at
    most `window` before: one row per purchase event (customer_id, arm, timestamp)."""
    buys = events.filter(pl.col("event") == "purchase").with_row_index("purchase")
    seen = impressions.select(
        "customer_id", "product_id", "arm", pl.col("timestamp").alias("shown_at")
    )
    matched = buys.join(seen, on=["customer_id", "product_id"], how="inner").filter(
        (pl.col("shown_at") <= pl.col("timestamp"))
        & (pl.col("timestamp") <= pl.col("shown_at") + window)
    )
    return matched.unique("purchase", keep="first").select(
        "customer_id", "arm", "timestamp", "product_id"
    )


@dataclass(frozen=True)
class _Buyers:
    """One arm's customers (when each was first answered) and their attributed purchases as
    arrays: any look's per-customer counts are then one mask and one bincount."""

    assigned_at: np.ndarray  # datetime64[us] (UTC), one per customer of the arm
    buyer: np.ndarray  # for each purchase, its customer's index in assigned_at
    bought_at: np.ndarray  # datetime64[us] (UTC), one per purchase

    @classmethod
    def of(cls, first: pl.DataFrame, bought: pl.DataFrame, arm: str) -> _Buyers:
        """The customers assigned to `arm` and their purchases attributed to it."""
        who = first.filter(pl.col("arm") == arm).with_row_index("slot")
        buys = bought.filter(pl.col("arm") == arm).join(
            who.select("customer_id", "slot"), on="customer_id", how="inner"
        )
        return cls(
            _naive_us(who["at"]),
            buys["slot"].to_numpy().astype(np.int64),
            _naive_us(buys["timestamp"]),
        )

    def counts(self, until: datetime | None = None) -> np.ndarray:
        """Purchases of each customer assigned (by `until` when given, counting purchases
        by then), 0 for none."""
        n = len(self.assigned_at)
        if until is None:
            return np.bincount(self.buyer, minlength=n).astype(np.float64)
        t = np.datetime64(until.astimezone(UTC).replace(tzinfo=None), "us")
        per = np.bincount(self.buyer[self.bought_at <= t], minlength=n)
        return per[self.assigned_at <= t].astype(np.float64)

    def sample(self, until: datetime | None = None) -> stats.Sample:
        """The per-customer purchases summarised."""
        return stats.Sample.of(self.counts(until))

    def point(self, arm: str, until: datetime) -> Point:
        """The cumulative purchase rate at `until` with its 95% (normal) band."""
        s = self.sample(until)
        half = 1.959963984540054 * math.sqrt(s.var / s.n) if s.n > 1 else 0.0
        return Point(until, arm, s.n, s.mean, max(0.0, s.mean - half), s.mean + half)


def _naive_us(moments: pl.Series) -> np.ndarray:
    """UTC datetimes as naive datetime64[us] (numpy has no time zones)."""
    return moments.dt.replace_time_zone(None).dt.cast_time_unit("us").to_numpy()


def _p99(latency_ms: pl.Series) -> float:
    """The p99 of the latencies logged; NaN when none was (a RecommendBatch answer logs
    none: its time is the batch's), which the guardrail then cannot fail on."""
    logged = latency_ms.drop_nulls()
    return float(logged.quantile(0.99)) if len(logged) else math.nan


def _checkpoints(start: datetime, end: datetime, looks: int) -> list[datetime]:
    """`looks` instants evenly from start to end, the last one `end`."""
    step = (end - start) / looks
    return [start + step * (i + 1) for i in range(looks - 1)] + [end]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def suitability_violations(items_json: str, removed_json: str) -> int:
    """Products an answer showed although the suitability rule removed them (its log row's
    JSON): 0 unless a path skipped the hard rules."""
    return int(violations_of(pl.Series([items_json]), pl.Series([removed_json]))[0])


ITEMS_JSON: Final = pl.List(pl.Struct({"product_id": pl.String}))
REMOVED_JSON: Final = pl.Struct({"suitability": pl.List(pl.String)})


PLAIN_ID: Final = r"^[ !#-\[\]-~]*$"  # printable ASCII but '"' and '\': JSON writes it as is


def violations_of(items_json: pl.Series, removed_json: pl.Series) -> pl.Series:
    """suitability_violations of every row, in bulk: a report reads thousands of rows.

    A shown product's id is in its row's items text in quotes, so only rows where one of the
    suitability-removed ids is (almost never: the rule removed them) have their items decoded.
    """
    rows = pl.DataFrame({"items": items_json, "removed": removed_json}).with_row_index("row")
    unsuitable = (
        rows.select(
            "row",
            "items",
            pl.col("removed").str.json_decode(REMOVED_JSON).struct.field("suitability"),
        )
        .explode("suitability")
        .drop_nulls("suitability")
    )
    quoted = pl.lit('"') + pl.col("suitability") + pl.lit('"')
    maybe = unsuitable.filter(
        pl.col("items").str.contains(quoted, literal=True)
        | ~pl.col("suitability").str.contains(PLAIN_ID)  # escaped in JSON: decode to know
    ).unique(["row", "suitability"])
    shown = (
        rows.join(maybe.select("row").unique(), on="row", how="semi")
        .select("row", pl.col("items").str.json_decode(ITEMS_JSON).alias("shown"))
        .explode("shown")
        .select("row", pl.col("shown").struct.field("product_id"))
    )
    hits = shown.join(
        maybe.select("row", "suitability"),
        left_on=["row", "product_id"],
        right_on=["row", "suitability"],
        how="inner",
    )
    counts = hits.group_by("row").len()
    out = rows.select("row").join(counts, on="row", how="left").sort("row")
    return out["len"].fill_null(0).cast(pl.Int64).rename("violations")
