"""The reliability plot: predicted purchase probability against the observed rate, per model."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from recsys.ranking.calibration import Reliability


def reliability_figure(curves: Mapping[str, Reliability], title: str) -> Figure:
    """One line per model over the diagonal of perfect calibration (empty bins left out)."""
    fig = Figure(figsize=(5.0, 5.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    top = 0.0
    for name, r in curves.items():
        seen = r.count > 0
        ax.plot(r.predicted[seen], r.observed[seen], "o-", label=f"{name} (ECE {r.ece:.4f})")
        top = max(top, float(np.nanmax(np.append(r.predicted[seen], r.observed[seen]))))
    top = min(1.0, max(top * 1.1, 0.01))
    ax.plot([0, top], [0, top], ":", color="grey", label="perfectly calibrated")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("predicted P(purchase)")
    ax.set_ylabel("observed purchase rate")
    ax.set_title(title)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_reliability(curves: Mapping[str, Reliability], path: Path, title: str) -> Path:
    """Write the reliability plot as a PNG."""
    reliability_figure(curves, title).savefig(path, dpi=100)
    return path
