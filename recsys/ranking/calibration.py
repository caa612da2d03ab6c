"""Model scores -> purchase probabilities: isotonic regression or Platt scaling, and the ECE.

Fitted on a holdout's (score, bought) pairs: the probability is that of a purchase within
the holdout window. Pure numpy (no scikit-learn): a calibrator is a few numbers, saved as
npz beside the model in its bundle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np

Method = Literal["isotonic", "platt"]
METHODS: Final = ("isotonic", "platt")
DEFAULT_BINS: Final = 10
MAX_KNOTS: Final = 512  # an isotonic fit keeps at most this many (score, probability) knots
_NEWTON_STEPS: Final = 50


@dataclass(frozen=True, eq=False)
class Calibrator:
    """A monotone map from score to probability: knots (isotonic) or a sigmoid (Platt)."""

    method: Method
    x: np.ndarray  # float64: isotonic knots' scores (ascending); Platt: [a, b]
    y: np.ndarray  # float64: isotonic knots' probabilities; Platt: empty

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """Probabilities (float32, shape of `scores`); -inf scores (never shown) give 0."""
        s = np.asarray(scores, dtype=np.float64)
        finite = np.isfinite(s)
        safe = np.where(finite, s, 0.0)
        if self.method == "platt":
            a, b = self.x
            p = _sigmoid(a * safe + b)
        else:
            p = np.interp(safe, self.x, self.y)
        return np.where(finite, p, 0.0).astype(np.float32)


def fit_calibrator(scores: np.ndarray, bought: np.ndarray, method: Method) -> Calibrator:
    """A calibrator of `method` fitted on (score, 0/1 outcome) pairs; ValueError on bad input."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(bought, dtype=np.float64).ravel()
    if s.shape != y.shape:
        raise ValueError(f"scores ({s.size}) and outcomes ({y.size}) differ in length")
    keep = np.isfinite(s)
    s, y = s[keep], y[keep]
    if s.size == 0:
        raise ValueError("no finite scores to calibrate on")
    if method == "isotonic":
        return _isotonic(s, y)
    if method == "platt":
        return _platt(s, y)
    raise ValueError(f"calibration method must be one of {list(METHODS)}, got {method!r}")


def _isotonic(s: np.ndarray, y: np.ndarray) -> Calibrator:
    """Pool-adjacent-violators on scores sorted ascending (ties pooled first)."""
    order = np.argsort(s, kind="stable")
    s, y = s[order], y[order]
    uniq, start = np.unique(s, return_index=True)
    counts = np.diff(np.append(start, s.size)).astype(np.float64)
    sums = np.add.reduceat(y, start)
    # blocks: (sum, count, first score, last score); merged while a mean decreases
    b_sum, b_cnt, b_lo, b_hi = [], [], [], []
    for v, c, x in zip(sums.tolist(), counts.tolist(), uniq.tolist(), strict=True):
        b_sum.append(v), b_cnt.append(c), b_lo.append(x), b_hi.append(x)
        while len(b_sum) > 1 and b_sum[-2] / b_cnt[-2] >= b_sum[-1] / b_cnt[-1]:
            v2, c2, hi = b_sum.pop(), b_cnt.pop(), b_hi.pop()
            b_lo.pop()
            b_sum[-1] += v2
            b_cnt[-1] += c2
            b_hi[-1] = hi
    means = np.asarray(b_sum) / np.asarray(b_cnt)
    # each block's mean holds from its first to its last score; interp is linear between
    xs = np.ravel(np.column_stack([b_lo, b_hi]))
    ys = np.repeat(means, 2)
    if xs.size > MAX_KNOTS:
        pick = np.unique(np.linspace(0, xs.size - 1, MAX_KNOTS).round().astype(int))
        xs, ys = xs[pick], ys[pick]
    return Calibrator("isotonic", xs, ys)


def _platt(s: np.ndarray, y: np.ndarray) -> Calibrator:
    """Logistic regression of the outcome on the score (Newton steps), with Platt's targets."""
    pos = y.sum()
    neg = y.size - pos
    # Platt's smoothed targets keep a separable holdout from giving an infinite slope
    t = np.where(y > 0, (pos + 1) / (pos + 2), 1 / (neg + 2))
    flat = np.log((pos + 1) / (neg + 1))
    scale = s.std()
    if scale == 0:  # one score for all: the rate, whatever the score
        return Calibrator("platt", np.array([0.0, flat]), np.empty(0))
    z = (s - s.mean()) / scale
    a, b = 0.0, flat
    for _ in range(_NEWTON_STEPS):
        p = _sigmoid(a * z + b)
        w = np.maximum(p * (1 - p), 1e-12)
        g = np.array([np.dot(z, p - t), np.sum(p - t)])
        h = np.array([[np.dot(w * z, z), np.sum(w * z)], [np.sum(w * z), np.sum(w)]])
        step = np.linalg.solve(h + 1e-9 * np.eye(2), g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    if a < 0:  # scores that fall as purchases rise: a calibration keeps the model's order
        return Calibrator("platt", np.array([0.0, flat]), np.empty(0))
    # back to raw scores: a*z + b = (a/scale)*s + (b - a*mean/scale)
    return Calibrator("platt", np.array([a / scale, b - a * s.mean() / scale]), np.empty(0))


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(v, -500, 500)))


@dataclass(frozen=True)
class Reliability:
    """Per probability bin: mean predicted, observed rate, pair count (equal-width bins)."""

    predicted: np.ndarray
    observed: np.ndarray
    count: np.ndarray

    @property
    def ece(self) -> float:
        """Expected calibration error: |observed - predicted| weighted by the bins' counts."""
        total = self.count.sum()
        if total == 0:
            return float("nan")
        gap = np.abs(self.observed - self.predicted)
        return float(np.sum(np.where(self.count > 0, gap, 0.0) * self.count) / total)


def reliability(prob: np.ndarray, bought: np.ndarray, bins: int = DEFAULT_BINS) -> Reliability:
    """Binned predicted probability against the observed purchase rate (empty bins are NaN)."""
    p = np.asarray(prob, dtype=np.float64).ravel()
    y = np.asarray(bought, dtype=np.float64).ravel()
    which = np.minimum((p * bins).astype(np.int64), bins - 1)
    count = np.bincount(which, minlength=bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        predicted = np.bincount(which, weights=p, minlength=bins) / count
        observed = np.bincount(which, weights=y, minlength=bins) / count
    return Reliability(predicted, observed, count.astype(np.int64))


def save_calibrators(path: Path, calibrators: dict[str, Calibrator]) -> None:
    """Write named calibrators to one npz (no pickle)."""
    arrays = {}
    for name, c in calibrators.items():
        arrays[f"{name}.method"] = np.array(c.method)
        arrays[f"{name}.x"] = c.x
        arrays[f"{name}.y"] = c.y
    np.savez(path, **arrays)


def load_calibrators(path: Path) -> dict[str, Calibrator]:
    """Calibrators read back from `save_calibrators`' file."""
    with np.load(path, allow_pickle=False) as z:
        names = sorted({k.rsplit(".", 1)[0] for k in z.files})
        return {
            n: Calibrator(str(z[f"{n}.method"]), z[f"{n}.x"], z[f"{n}.y"])  # type: ignore[arg-type]
            for n in names
        }
