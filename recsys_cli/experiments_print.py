"""How `recsys experiments` prints experiments and reports, and draws the report's plot."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from recsys_cli.console import console, err_console
from serving._proto.recsys.v1 import experiments_pb2 as pb


def _when(ts: Any) -> str:
    return ts.ToDatetime().strftime("%Y-%m-%d %H:%M") if ts.seconds else "-"


def _arms(e: pb.Experiment) -> str:
    return ", ".join(f"{a.name} {a.share:.0%}" for a in e.arms)


def print_experiment(e: pb.Experiment) -> None:
    """One experiment's settings."""
    console.print(
        f"[bold]{e.id}[/] {escape(e.name)}: {e.status}"
        + (f" ({escape(e.concluded)})" if e.concluded else "")
    )
    console.print(
        f"  arms: {_arms(e)}; challenger {escape(e.challenger)}, control {escape(e.control_policy)}"
    )
    console.print(
        f"  channels: {', '.join(e.channels) or 'all'}; {_when(e.start_at)} to "
        f"{_when(e.end_at)} UTC; attribution {e.attribution_days:g} days"
    )


def print_list(experiments: list[pb.Experiment]) -> None:
    """A table of experiments."""
    if not experiments:
        console.print("no experiments")
        return
    table = Table(title="experiments")
    for col in ("id", "name", "status", "arms", "channels", "start", "end"):
        table.add_column(col)
    for e in experiments:
        table.add_row(
            e.id,
            escape(e.name),
            e.status,
            _arms(e),
            ", ".join(e.channels) or "all",
            _when(e.start_at),
            _when(e.end_at),
        )
    console.print(table)


def print_history(history: list[pb.AuditEntry]) -> None:
    """The audit trail: when, who, what."""
    for h in history:
        note = f" ({escape(h.note)})" if h.note else ""
        console.print(f"  {_when(h.at)} {escape(h.actor)}: {h.action}{note}")


def print_report(r: pb.ExperimentReport) -> None:
    """Per arm, then the lift against the champion, the SRM check and the guardrails."""
    console.print(
        f"[bold]{r.experiment_id}[/] {escape(r.name)} ({r.status}), report at "
        f"{r.at[:19]} UTC; purchases within {r.attribution_days:g} days of an "
        "impression"
    )
    table = Table()
    for col in (
        "arm",
        "share",
        "assigned",
        "exposed",
        "impr.",
        "clicks",
        "CTR",
        "bought",
        "per assigned",
        "per exposed",
        "unsuitable",
        "fallback",
        "p99 ms",
    ):
        table.add_column(col, justify="left" if col == "arm" else "right")
    for a in r.arms:
        table.add_row(
            a.arm,
            f"{a.share:.0%}",
            f"{a.assigned:,}",
            f"{a.exposed:,}",
            f"{a.impressions:,}",
            f"{a.clicks:,}",
            f"{a.ctr:.2%}",
            f"{a.purchases:,}",
            f"{a.purchase_rate:.4f}",
            f"{a.purchase_rate_exposed:.4f}",
            str(a.suitability_violations),
            f"{a.fallback_share:.1%}",
            _opt(a, "latency_p99_ms", ".1f"),
        )
    console.print(table)
    for a in r.arms:
        if a.value:  # the answers logged products' values (a calibrated model)
            console.print(
                f"{a.arm}: value per 1,000 answers {a.value_per_1000_answers:,.1f} "
                f"[{a.value_per_1000_low:,.1f}, {a.value_per_1000_high:,.1f}] "
                f"({a.answers:,} answers)"
            )
    for a in r.arms:
        if not a.HasField("lift"):
            continue
        x = a.lift
        verdict = "[green]significant[/]" if x.sequential_significant else "not significant"
        console.print(
            f"{a.arm} vs champion: lift {x.absolute:+.4f} purchases/customer, 95% CI "
            f"[{_opt(x, 'ci_low', '+.4f')}, {_opt(x, 'ci_high', '+.4f')}]; relative "
            f"{_opt(x, 'relative', '+.1%')} [{_opt(x, 'relative_ci_low', '+.1%')}, "
            f"{_opt(x, 'relative_ci_high', '+.1%')}]"
        )
        console.print(
            f"  sequential (always valid) p = {x.sequential_p_value:.3g}: {verdict}; "
            f"fixed-horizon p = {x.p_value:.3g} (valid only if read once)"
        )
    s = r.srm
    if s.flagged:
        err_console.print(
            f"[bold red]SAMPLE RATIO MISMATCH[/] (chi2 {s.chi2:.1f}, p = "
            f"{s.p_value:.2g}): the split is not the configured one; do not "
            "trust this result",
            soft_wrap=True,
        )
    else:
        console.print(f"sample ratio: ok (chi2 {s.chi2:.2f}, p = {s.p_value:.3g})")


def plot_report(r: pb.ExperimentReport, path: Path) -> None:
    """The cumulative purchase rate per arm over time with its 95% band, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for arm in [a.arm for a in r.arms]:
        points = [p for p in r.series if p.arm == arm]
        if not points:
            continue
        at = [datetime.fromisoformat(p.at) for p in points]
        ax.plot(at, [p.rate for p in points], label=arm)
        ax.fill_between(at, [p.low for p in points], [p.high for p in points], alpha=0.2)
    ax.set_title(f"{r.name}: cumulative purchases per assigned customer (95% band)")
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("purchases per assigned customer")
    ax.legend()
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _opt(message: Any, name: str, spec: str) -> str:
    """An optional field formatted, or "n/a" where the server left it undefined."""
    return format(getattr(message, name), spec) if message.HasField(name) else "n/a"
