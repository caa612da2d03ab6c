"""Training configuration: model family and params, split, evaluation; read from/written to TOML."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from recsys.settings import InteractionWeights, Settings

FAMILIES = ("popularity", "itemknn", "als", "bpr", "lightfm", "sequence", "transition", "blend")


class SplitConfig(BaseModel):
    """How the holdout is cut: by time (default) or by hiding one held product per customer."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["time", "hide_one"] = "time"
    window_days: int = Field(default=30, ge=1, description="test window after the cutoff")
    hide_customers: int = Field(default=5000, ge=1, description="hide_one: customers sampled")
    min_held: int = Field(default=2, ge=2, description="hide_one: minimum products held")
    seed: int = 0
    # --model auto picks its protocol (training/protocol.py): a next-period holdout must hold
    # this many customers, else hide-one
    min_holdout_customers: int = Field(default=2000, ge=1)


class EvalConfig(BaseModel):
    """What is measured and what the promotion gate compares."""

    model_config = ConfigDict(extra="forbid")
    k: int = Field(default=5, ge=1, le=50)
    metric: str = "ndcg_at_5"
    promote_margin: float = Field(default=0.01, ge=0.0, description="relative gain needed")
    max_eval_customers: int = Field(default=200_000, ge=1)


class ModelSection(BaseModel):
    """The model family and its parameters (validated by the family's own config class)."""

    model_config = ConfigDict(extra="forbid")
    family: Literal[
        "popularity", "itemknn", "als", "bpr", "lightfm", "sequence", "transition", "blend"
    ] = "als"
    params: dict[str, Any] = Field(default_factory=dict)


class TrainConfig(BaseModel):
    """Everything `recsys train` needs beyond the data folder."""

    model_config = ConfigDict(extra="forbid")
    model: ModelSection = Field(default_factory=ModelSection)
    split: SplitConfig = Field(default_factory=SplitConfig)
    evaluation: EvalConfig = Field(default_factory=EvalConfig)
    # Event weights and recency half-life are part of what a model learns from, so a dataset's
    # tuned config may carry its own; None keeps the process settings (RECSYS_WEIGHTS__...).
    weights: InteractionWeights | None = None


def effective_settings(settings: Settings, config: TrainConfig) -> Settings:
    """`settings` with the config's interaction weights, when the config has them."""
    if config.weights is None:
        return settings
    return settings.model_copy(update={"weights": config.weights})


class ConfigError(ValueError):
    """A training config file that cannot be used; the message names the file and key."""


def load_train_config(path: Path | None) -> TrainConfig:
    """Read a TOML config (None = defaults); errors name the file and the bad key."""
    if path is None:
        return TrainConfig()
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {where}") from exc


def dump_train_config(config: TrainConfig) -> str:
    """TOML text that `load_train_config` reads back to an equal config."""
    lines: list[str] = []
    sections = {
        "model": {"family": config.model.family},
        "model.params": config.model.params,
        "split": config.split.model_dump(),
        "evaluation": config.evaluation.model_dump(),
    }
    if config.weights is not None:
        # TOML has no null: "none" is how InteractionWeights spells "no recency decay"
        sections["weights"] = {
            k: "none" if v is None else v for k, v in config.weights.model_dump().items()
        }
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml_value(val)}" for key, val in values.items() if val is not None]
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table (a blend's parts)
        return (
            "{ "
            + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items() if v is not None)
            + " }"
        )
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
