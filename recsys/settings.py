"""The one typed configuration: defaults that work with nothing running, `RECSYS_*` env overrides.

Library code never instantiates `Settings`; entry points (CLI, server, pipelines) do, once,
and pass the pieces they need down. That keeps `recsys` free of environment reads.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from recsys.columns import DEFAULT_CHANNELS, OUTBOUND_CHANNELS, Events
from recsys.settings_limits import RateLimit, RequestLimits, ServerLimits  # noqa: F401

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
    reject: float = 0.0  # a rejection is no interest; it suppresses the product (contact policy)
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
    """What a channel shows: default k and product categories it does not sell; an outbound
    channel (a campaign pushes through it) also lists the products it may carry."""

    default_k: int = 5
    excluded_categories: list[str] = Field(default_factory=list)
    outbound: bool = False
    # outbound only: product ids it may carry (empty: every product); where a product is sold
    # (the catalog's channels) is about inbound channels, so it does not decide this
    products: list[str] = Field(default_factory=list)


class ContactLimit(BaseModel):
    """At most `contacts` contacts per customer within `days`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    contacts: int = Field(ge=0)
    days: float = Field(gt=0)


class QuietPeriod(BaseModel):
    """No outbound contact from `start` until `end` (UTC), e.g. a holiday or a freeze."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: datetime
    end: datetime


def _channel_limits() -> dict[str, ContactLimit]:
    return {"email": ContactLimit(contacts=1, days=7), "sms": ContactLimit(contacts=1, days=7)}


class ContactPolicy(BaseModel):
    """One contact policy for every channel (RECSYS_CONTACT_POLICY__<NAME>)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel_limits: dict[str, ContactLimit] = Field(default_factory=_channel_limits)
    outbound_limit: ContactLimit = Field(
        default_factory=lambda: ContactLimit(contacts=3, days=30),
        description="outbound contacts of any channel",
    )
    # a product shown this often without a click within the window is not pushed again
    suppress_impressions: int = Field(default=5, ge=1)
    suppress_days: float = Field(default=30.0, gt=0)
    reject_days: float = Field(default=30.0, gt=0, description="a reject suppresses this long")
    # a product delivered to the customer on any channel (an offer slot, a contact) is not
    # pushed to them again within this many days
    repeat_days: float = Field(default=7.0, ge=0)
    quiet_hours: tuple[int, int] | None = Field(
        default=None, description="(from, to) UTC hours of each day with no outbound contact"
    )
    quiet_periods: list[QuietPeriod] = Field(default_factory=list)

    @field_validator("quiet_hours")
    @classmethod
    def _hours(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and not all(0 <= h <= 23 for h in v):
            raise ValueError(f"quiet_hours must be two hours 0..23, got {v}")
        return v


class ConsoleSettings(BaseModel):
    """The web console's sessions and sign-in limits (RECSYS_CONSOLE__<NAME>)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    idle_minutes: float = Field(default=15.0, gt=0, description="signed out after this idle")
    sign_in_failures: int = Field(
        default=5, ge=1, description="failed sign-ins per address within the window"
    )
    sign_in_window_minutes: float = Field(default=15.0, gt=0)
    max_sessions: int = Field(default=10_000, ge=1, description="sessions kept at most")
    mlflow_ui_url: str = Field(
        default="http://127.0.0.1:5000", description="the MLflow UI the models page links to"
    )


class RankingConfig(BaseModel):
    """How the allowed products are ordered (RECSYS_RANKING__<NAME>): by the model's score
    (`propensity`), or by P(purchase) x value x lever (`value`, see recsys.ranking.policy)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: Literal["propensity", "value"] = "propensity"
    min_probability: float = Field(
        default=0.0, ge=0, le=1, description="under this P a product is not pushed by value"
    )
    calibration: Literal["isotonic", "platt"] = Field(
        default="isotonic", description="how training maps scores to purchase probabilities"
    )
    default_value: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    # product id or category -> expected margin per sale (a product id wins over the
    # products file's value column, which wins over a category)
    values: dict[str, float] = Field(default_factory=dict)
    # product id or category -> marketing's lever, e.g. {"term_deposit": 1.2}
    levers: dict[str, float] = Field(default_factory=dict)
    # an experiment arm -> the policy its answers rank by, e.g. {"challenger": "value"}
    arm_policies: dict[str, Literal["propensity", "value"]] = Field(default_factory=dict)

    def for_arm(self, arm: str) -> RankingConfig:
        """The configuration an experiment arm's answers rank by ("" = no experiment)."""
        policy = self.arm_policies.get(arm) if arm else None
        return self if policy is None else self.model_copy(update={"policy": policy})

    @field_validator("values", "levers")
    @classmethod
    def _non_negative(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: x for k, x in v.items() if not (x >= 0 and x != float("inf"))}
        if bad:
            raise ValueError(f"must be finite and >= 0, got {bad}")
        return v


class ExplorationConfig(BaseModel):
    """Thompson-sampling exploration of new products (RECSYS_EXPLORATION__<NAME>; see
    recsys.exploration): off unless enabled."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    share: float = Field(default=0.1, ge=0, le=1, description="share of slots, per channel")
    channel_shares: dict[str, float] = Field(
        default_factory=lambda: {"atm": 0.0}, description="a channel's own share"
    )
    new_below: int = Field(default=50, ge=1, description="a product with fewer holders is new")
    base_rate: float = Field(default=0.02, gt=0, lt=1, description="prior P(purchase | shown)")
    strength: float = Field(default=50.0, gt=0, description="the prior's worth in impressions")
    max_impressions: int = Field(default=5000, ge=1, description="then it leaves exploration")
    tight: float = Field(default=0.1, gt=0, description="leaves when sd < tight x mean")
    refresh_seconds: float = Field(default=5.0, gt=0, description="store counts re-read")
    # experiment arms that explore (empty: every answer); e.g. ["challenger"] measures
    # exploration against an arm without it
    arms: list[str] = Field(default_factory=list)

    def in_arm(self, arm: str) -> bool:
        """Whether an answer of experiment arm `arm` ("" = none) explores."""
        return not self.arms or arm in self.arms

    @field_validator("channel_shares")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {c: x for c, x in v.items() if not 0 <= x <= 1}
        if bad:
            raise ValueError(f"shares must be in [0, 1], got {bad}")
        return v

    def share_for(self, channel: str | None) -> float:
        """The channel's share of slots (0 when exploration is off)."""
        if not self.enabled:
            return 0.0
        return self.channel_shares.get(channel or "", self.share)


def _default_channels() -> dict[str, ChannelConfig]:
    ks = {"atm": 1, "mobile": 5, "web": 5, "branch": 5, "call_center": 10}
    excluded = {"atm": ["mortgage", "wealth_management", "mutual_fund", "fx", "precious_metals"]}
    inbound = {
        c: ChannelConfig(default_k=ks[c], excluded_categories=excluded.get(c, []))
        for c in DEFAULT_CHANNELS
    }
    # one product a message; an SMS or a push is too short for the complex products
    short = ["mortgage", "wealth_management", "mutual_fund", "fx", "precious_metals"]
    outbound = {
        c: ChannelConfig(
            default_k=1, outbound=True, excluded_categories=[] if c == "email" else short
        )
        for c in OUTBOUND_CHANNELS
    }
    return inbound | outbound


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
    auth_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        allow_inf_nan=False,
        description="how long a verified API key is trusted before the store is asked again",
    )
    grpc_host: str = Field(
        default="[::]", description="address the gRPC server binds ([::] = every address)"
    )
    # /metrics says how busy the bank is and which keys call: this host only, unless told
    metrics_host: str = Field(default="127.0.0.1", description="address /metrics binds")
    tls_cert_file: Path | None = Field(default=None, description="server certificate (PEM)")
    tls_key_file: Path | None = Field(default=None, description="server private key (PEM)")
    tls_client_ca_file: Path | None = Field(
        default=None, description="CA of client certificates; set = mutual TLS required"
    )
    event_types: list[str] = Field(default_factory=lambda: list(Events.all))
    channels: dict[str, ChannelConfig] = Field(default_factory=_default_channels)
    weights: InteractionWeights = Field(default_factory=InteractionWeights)
    limits: RequestLimits = Field(default_factory=RequestLimits)
    server: ServerLimits = Field(default_factory=ServerLimits)
    # required: Recommend for customer X needs a token naming X, signed by the channel's backend
    # (recsys.security.customer_tokens), so a channel key alone cannot read every customer
    customer_tokens: Literal["off", "required"] = "off"
    customer_token_key: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key the channels' backends sign tokens with"
    )
    customer_token_max_age_seconds: float = Field(default=300.0, gt=0, allow_inf_nan=False)
    # one key asking about more distinct customers than this in a window raises
    # recsys_key_enumeration_alerts_total (a channel app serves the customers who use it)
    enumeration_alert_customers: int = Field(default=2000, ge=1)
    enumeration_window_minutes: float = Field(default=10.0, gt=0, allow_inf_nan=False)
    shutdown_delay_seconds: float = Field(
        default=1.0,
        ge=0,
        le=30,
        description="after SIGTERM: health NOT_SERVING this long before calls are refused",
    )
    offer_refresh_seconds: float = Field(
        default=5.0, gt=0, le=10, description="how often each server re-reads the offers"
    )
    experiment_refresh_seconds: float = Field(
        default=5.0, gt=0, le=60, description="how often each server re-reads the experiments"
    )
    experiment_test_skew: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="TEST HOOK ONLY: skews every experiment's assignment towards its first arm "
        "(the SRM check must flag it); 0 in production",
    )
    offer_hold_minutes: float = Field(
        default=30.0,
        gt=0,
        description="a delivered offer counts against its caps this long, or until the "
        "channel reports its impression",
    )
    seed: int = 42
    answer_cache_size: int = Field(
        # each keeps its response's bytes and its decision-log JSON: a full cache keeps a
        # 1M-customer worker under 1 GiB (sizes in bench/README.md)
        default=40_000,
        ge=0,
        description="Recommend answers kept for customers who ask again (0 = none)",
    )
    decision_log: bool = Field(default=True, description="log every Recommend answer")
    decision_queue_size: int = Field(default=10_000, ge=1, description="answers queued at most")
    decision_retention_days: int = Field(
        default=365, ge=0, description="days decisions are kept (0 = forever)"
    )
    # events are the training data: kept until a bank sets its own period
    event_retention_days: int = Field(
        default=0,
        ge=0,
        description="days `recsys customers prune` keeps events (0 = forever)",
    )
    reason_recent_days: float = Field(
        default=90.0,
        gt=0,
        allow_inf_nan=False,
        description='a purchase this many days old or newer is "recently opened" in a reason',
    )
    console: ConsoleSettings = Field(default_factory=lambda: ConsoleSettings())
    contact_policy: ContactPolicy = Field(default_factory=lambda: ContactPolicy())
    campaign_chunk_size: int = Field(
        default=50_000, ge=1, description="customers a campaign scores at once (bounds memory)"
    )
    ranking: RankingConfig = Field(default_factory=lambda: RankingConfig())
    exploration: ExplorationConfig = Field(default_factory=lambda: ExplorationConfig())

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
