"""Hyper-parameter search spaces per model family, as data, and sampling them with optuna."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import optuna

from recsys.models.registry import build_model, model_class


@dataclass(frozen=True)
class Condition:
    """A parameter that only matters when another one has a given value (e.g. bm25 knobs)."""

    name: str
    value: Any


@dataclass(frozen=True)
class IntRange:
    """An integer parameter in [low, high], sampled on a log scale when `log`."""

    name: str
    low: int
    high: int
    log: bool = False
    when: Condition | None = None

    def suggest(self, trial: optuna.Trial) -> int:
        """One value for this trial."""
        return trial.suggest_int(self.name, self.low, self.high, log=self.log)

    def corners(self) -> tuple[int, ...]:
        """The extreme values, to check they are valid for the family's config."""
        return (self.low, self.high)


@dataclass(frozen=True)
class FloatRange:
    """A float parameter in [low, high], sampled on a log scale when `log`."""

    name: str
    low: float
    high: float
    log: bool = False
    when: Condition | None = None

    def suggest(self, trial: optuna.Trial) -> float:
        """One value for this trial."""
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def corners(self) -> tuple[float, ...]:
        """The extreme values, to check they are valid for the family's config."""
        return (self.low, self.high)


@dataclass(frozen=True)
class Choice:
    """A categorical parameter (strings or booleans)."""

    name: str
    choices: tuple[Any, ...]
    when: Condition | None = None

    def suggest(self, trial: optuna.Trial) -> Any:
        """One value for this trial."""
        return trial.suggest_categorical(self.name, self.choices)

    def corners(self) -> tuple[Any, ...]:
        """Every choice, to check each is valid for the family's config."""
        return self.choices


Param = IntRange | FloatRange | Choice
BM25 = Condition("similarity", "bm25")

# Ranges are wide on purpose (log scale where the useful values span decades); the default
# values of each family's config lie inside them, so the defaults are reachable.
SPACES: dict[str, tuple[Param, ...]] = {
    "popularity": (
        FloatRange("shrinkage", 0.0, 200.0),
        Choice("weighting", ("customers", "weight")),
        Choice("by_segment", (True, False)),
    ),
    "itemknn": (
        Choice("similarity", ("cosine", "bm25", "tfidf")),
        IntRange("neighbours", 5, 200, log=True),
        FloatRange("bm25_k1", 0.1, 3.0, when=BM25),
        FloatRange("bm25_b", 0.0, 1.0, when=BM25),
    ),
    "als": (
        IntRange("factors", 4, 64, log=True),
        FloatRange("regularization", 0.01, 500.0, log=True),
        FloatRange("alpha", 1.0, 100.0, log=True),
        IntRange("iterations", 10, 40),
    ),
    "bpr": (
        IntRange("factors", 4, 64, log=True),
        FloatRange("learning_rate", 0.001, 0.2, log=True),
        FloatRange("regularization", 1e-4, 0.1, log=True),
        IntRange("iterations", 20, 200, log=True),
        FloatRange("foldin_regularization", 0.01, 100.0, log=True),
    ),
    "lightfm": (
        IntRange("no_components", 4, 64, log=True),
        FloatRange("learning_rate", 0.005, 0.2, log=True),
        IntRange("epochs", 5, 40),
        Choice("loss", ("warp", "bpr")),
        Choice("history_features", (True, False)),
        FloatRange("item_alpha", 1e-8, 1e-3, log=True),
    ),
    "sequence": (
        FloatRange("l2", 0.1, 100.0, log=True),
        FloatRange("fill_weight", 0.01, 1.0, log=True),
        FloatRange("interest_weight", 0.0, 300.0),
        FloatRange("recent_ratio", 0.5, 1.0),
    ),
    "transition": (
        FloatRange("smoothing", 0.0, 50.0),
        FloatRange("recent_ratio", 0.5, 1.0),
    ),
}
# Parameters counted in products: a search over more neighbours or factors than the
# catalogue has products tries the same model again and again, so their ranges end there.
PER_PRODUCT = {"itemknn": "neighbours", "als": "factors", "bpr": "factors"}
PER_PRODUCT_LIGHTFM = "no_components"


def search_space(family: str, n_products: int | None = None) -> tuple[Param, ...]:
    """The search space of a config family, sized to a catalogue of n_products if given."""
    if family not in SPACES:
        raise ValueError(f"no search space for model family {family!r}; known: {sorted(SPACES)}")
    space = SPACES[family]
    if n_products is None:
        return space
    sized = {PER_PRODUCT.get(family), PER_PRODUCT_LIGHTFM if family == "lightfm" else None}
    return tuple(
        _capped(p, n_products) if isinstance(p, IntRange) and p.name in sized else p for p in space
    )


def _capped(param: IntRange, n_products: int) -> IntRange:
    high = max(min(param.high, n_products), 2)
    return IntRange(param.name, min(param.low, high), high, param.log, param.when)


def check_space(family: str) -> None:
    """Every parameter is a field of the family's Config and its extreme values validate."""
    space = search_space(family)
    fields = model_class(family).Config.model_fields
    unknown = [p.name for p in space if p.name not in fields]
    if unknown:
        raise ValueError(f"search space of {family!r} names unknown config fields {unknown}")
    for param in space:
        for value in param.corners():
            build_model(family, {param.name: value})  # raises if out of bounds


def free_params(family: str, fixed: Mapping[str, Any]) -> list[str]:
    """The space's parameters a search varies: those the base config does not fix."""
    return [p.name for p in search_space(family) if p.name not in fixed]


def suggest_params(
    trial: optuna.Trial,
    family: str,
    fixed: Mapping[str, Any] | None = None,
    n_products: int | None = None,
) -> dict[str, Any]:
    """One trial's full params: `fixed` as given, the free ones sampled (conditions permitting)."""
    params: dict[str, Any] = dict(fixed or {})
    for param in search_space(family, n_products):
        if param.name in params:
            continue
        if param.when is None or params.get(param.when.name) == param.when.value:
            params[param.name] = param.suggest(trial)
    return params
