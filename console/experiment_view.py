"""What the experiment pages say about a report, as sentences and cells (pure functions).

Every sentence restates what the server's report holds; nothing here decides whether the
challenger may be promoted: that verdict is the server's (`ExperimentReport.promotion_problems`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from serving._proto.recsys.v1 import experiments_pb2 as pb

ALPHA: Final = 0.05  # the report's tests are at 95%
CHAMPION: Final = "champion"
STATUSES: Final = ("running", "stopped", "concluded")


@dataclass(frozen=True)
class LiftView:
    """One arm against the champion, as the page writes it."""

    arm: str
    absolute: str
    interval: str
    relative: str
    relative_interval: str
    sequential_p: str
    fixed_p: str
    significant: bool
    verdict: str


def signed(x: float, digits: int = 4) -> str:
    """+0.0123 / −0.0123 (a true minus sign, read as such by screen readers)."""
    return f"{x:+.{digits}f}".replace("-", "\N{MINUS SIGN}")


def signed_percent(x: float) -> str:
    """+12.3% / −4.0%."""
    return f"{100 * x:+.1f}%".replace("-", "\N{MINUS SIGN}")


def p_text(p: float) -> str:
    """A p-value as people read it: '0.034', '< 0.001'."""
    return "< 0.001" if p < 0.001 else f"{p:.3g}"


def lift_view(arm: pb.ArmReport) -> LiftView:
    """The arm's lift, its intervals, both p-values and what they mean."""
    x = arm.lift
    if x.HasField("ci_low") and x.HasField("ci_high"):
        interval = f"{signed(x.ci_low)} to {signed(x.ci_high)}"
    else:
        interval = "undefined: an arm has no customers yet"
    relative = signed_percent(x.relative) if x.HasField("relative") else "undefined"
    if x.HasField("relative_ci_low") and x.HasField("relative_ci_high"):
        rel_interval = (
            f"{signed_percent(x.relative_ci_low)} to {signed_percent(x.relative_ci_high)}"
        )
    else:
        rel_interval = "undefined while an arm has no purchases"
    seq = p_text(x.sequential_p_value)
    if x.sequential_significant:
        more = "more" if x.absolute > 0 else "less"
        verdict = (
            f"The {arm.arm} sells {more} than the champion: significant under the sequential "
            f"test (always-valid p {_p_relation(x.sequential_p_value)})."
        )
    else:
        verdict = (
            f"No significant difference between the {arm.arm} and the champion yet under the "
            f"sequential test (always-valid p {_p_relation(x.sequential_p_value)}, not below "
            f"{ALPHA})."
        )
    return LiftView(
        arm=arm.arm,
        absolute=signed(x.absolute),
        interval=interval,
        relative=relative,
        relative_interval=rel_interval,
        sequential_p=seq,
        fixed_p=p_text(x.p_value),
        significant=x.sequential_significant,
        verdict=verdict,
    )


def split_text(report: pb.ExperimentReport) -> str:
    """'champion 71.0% (configured 50.0%), control 29.0% (configured 50.0%)'."""
    total = sum(a.assigned for a in report.arms)
    parts = []
    for a in report.arms:
        seen = f"{100 * a.assigned / total:.1f}%" if total else "none yet"
        parts.append(f"{a.arm} {seen} (configured {100 * a.share:.1f}%)")
    return ", ".join(parts)


def srm_text(srm: pb.SampleRatio) -> str:
    """The SRM test's figures: 'chi-square 12.3, p = 2.1e-05'."""
    return f"chi-square {srm.chi2:.1f}, p = {srm.p_value:.2g}"


def has_arm(report: pb.ExperimentReport, name: str) -> bool:
    """Whether the report has an arm called `name`."""
    return any(a.arm == name for a in report.arms)


def _p_relation(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3g}"
