"""The one typed configuration: defaults that work with nothing running, `RECSYS_*` env overrides.

Library code never instantiates `Settings`; entry points (CLI, server, pipelines) do, once,
and pass the pieces they need down. That keeps `recsys` free of environment reads.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from recsys.columns import DEFAULT_CHANNELS, Events

DEFAULT_HOME = Path("var")


class InteractionWeights(BaseModel):
    """How much each event type counts in the interaction matrix, and how fast it fades."""

    purchase: float = 1.0
    apply: float = 0.5
    click: float = 0.1
    view: float = 0.05
    impression: float = 0.0
    # close removes a holding; as a signal of interest it still says "was relevant once".
    close: float = 0.0
    half_life_days: float | None = Field(
        default=365.0, description="recency decay half-life; None disables decay"
    )

    @field_validator("half_life_days", mode="before")
    @classmethod
    def _none_spelled_out(cls, v: object) -> object:
        # TOML and environment variables cannot say null; "none" turns decay off.
        return None if isinstance(v, str) and v.strip().lower() in ("none", "off", "") else v

    def as_dict(self) -> dict[str, float]:
        """Weights keyed by event type."""
        return {e: getattr(self, e) for e in Events.all}


class ChannelConfig(BaseModel):
    """What a channel shows: default k and product categories it does not sell."""

    default_k: int = 5
    excluded_categories: list[str] = Field(default_factory=list)


def _default_channels() -> dict[str, ChannelConfig]:
    ks = {"atm": 1, "mobile": 5, "web": 5, "branch": 5, "call_center": 10}
    excluded = {"atm": ["mortgage", "wealth_management", "mutual_fund", "fx", "precious_metals"]}
    return {
        c: ChannelConfig(default_k=ks[c], excluded_categories=excluded.get(c, []))
        for c in DEFAULT_CHANNELS
    }


class Settings(BaseSettings):
    """Process-wide settings; every field can be overridden as RECSYS_<FIELD>."""

    model_config = SettingsConfigDict(
        env_prefix="RECSYS_", env_nested_delimiter="__", extra="ignore", validate_default=True
    )

    home: Path = Field(default=DEFAULT_HOME, description="project-local folder for state")
    database_url: str | None = Field(default=None, description="events/offers/keys store")
    mlflow_tracking_uri: str | None = Field(
        default=None, validation_alias="MLFLOW_TRACKING_URI", description="registry + tracking"
    )
    registered_model: str = "bank-recsys"
    champion_alias: str = "champion"
    auth_required: bool = False
    event_types: list[str] = Field(default_factory=lambda: list(Events.all))
    channels: dict[str, ChannelConfig] = Field(default_factory=_default_channels)
    weights: InteractionWeights = Field(default_factory=InteractionWeights)
    seed: int = 42

    @field_validator("event_types")
    @classmethod
    def _lowercase_events(cls, v: list[str]) -> list[str]:
        bad = [e for e in v if e != e.lower() or not e]
        if bad:
            raise ValueError(f"event types must be non-empty lowercase strings, got {bad}")
        return v

    @property
    def resolved_database_url(self) -> str:
        """The store URL, defaulting to SQLite under `home`."""
        return self.database_url or f"sqlite:///{(self.home / 'recsys.db').resolve()}"

    @property
    def resolved_tracking_uri(self) -> str:
        """The MLflow tracking URI, defaulting to SQLite under `home`."""
        return self.mlflow_tracking_uri or f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def artifact_root(self) -> Path:
        """Where local MLflow artifacts go when the default SQLite store is used."""
        return (self.home / "mlartifacts").resolve()
