"""The promotion gate: a candidate replaces the champion only if it is measurably better."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class GateVerdict:
    """Whether to promote, and a sentence saying why."""

    promote: bool
    reason: str


def gate_verdict(
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
    *,
    metric: str,
    margin: float,
) -> GateVerdict:
    """Promote if there is no champion, or candidate[metric] >= champion[metric] * (1 + margin)."""
    cand = candidate.get(metric)
    if cand is None or not math.isfinite(cand):
        return GateVerdict(False, f"candidate has no finite {metric!r} (got {cand!r})")
    if champion is None:
        return GateVerdict(True, f"no current champion; candidate {metric}={cand:.4f}")
    champ = champion.get(metric)
    if champ is None or not math.isfinite(champ):
        return GateVerdict(
            True, f"champion has no finite {metric!r}; candidate {metric}={cand:.4f}"
        )
    needed = champ * (1.0 + margin) if champ > 0 else champ + margin
    if cand >= needed and cand > champ:
        return GateVerdict(
            True, f"{metric} {cand:.4f} beats champion {champ:.4f} (needed >= {needed:.4f})"
        )
    return GateVerdict(
        False,
        f"{metric} {cand:.4f} does not beat champion {champ:.4f} by margin {margin:.1%} "
        f"(needed >= {needed:.4f})",
    )
