"""Synthetic customer profiles: age, segment, income, risk tolerance, region, consent, joining."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

from recsys.columns import Columns as C
from recsys.data.generate.catalog import SimCatalog
from recsys.data.generate.sampling import sample_table, table_cdf
from recsys.data.generate.timeline import DAY_US, Timeline, date_to_us, years_of

SEGMENTS: Final = ("junior", "student", "mass", "affluent", "private", "senior", "small_business")
INCOME_BANDS: Final = ("low", "lower_middle", "middle", "upper_middle", "high")
REGIONS: Final = ("capital", "north", "south", "east", "west", "central", "islands")
REGION_WEIGHTS: Final = (0.22, 0.16, 0.18, 0.13, 0.12, 0.12, 0.07)
DIGITAL_ACTIVE: Final = "digital_active"  # extra feature column (kept by the contract)
# Age bands used throughout: <18, 18-24, 25-34, 35-49, 50-64, 65+
AGE_BAND_EDGES: Final = np.array([18, 25, 35, 50, 65])
JUNIOR_SHARE: Final = 0.04
CONSENT_RATE: Final = 0.7

# P(segment | age band); columns follow SEGMENTS.
SEGMENT_BY_AGE: Final = np.array([
    [1, 0, 0, 0, 0, 0, 0],
    [0, .70, .27, 0, 0, 0, .03],
    [0, .07, .65, .15, .01, 0, .12],
    [0, 0, .58, .22, .05, 0, .15],
    [0, 0, .55, .24, .07, 0, .14],
    [0, 0, .02, .14, .06, .78, 0],
])
# P(income band | segment); juniors have no income band (null).
INCOME_BY_SEGMENT: Final = np.array([
    [1, 0, 0, 0, 0],
    [.70, .28, .02, 0, 0],
    [.25, .35, .30, .10, 0],
    [0, 0, .20, .50, .30],
    [0, 0, 0, .20, .80],
    [.30, .35, .25, .07, .03],
    [0, .20, .40, .30, .10],
])
DIGITAL_BY_AGE: Final = np.array([.60, .90, .85, .72, .50, .22])
# Shift of the latent risk score per segment and age band (private bankers take more risk).
RISK_BY_SEGMENT: Final = np.array([0, 0, 0, .4, .8, -.3, .3])
RISK_BY_AGE: Final = np.array([0, -.2, .4, .3, 0, -.8])
ACTIVITY_BY_SEGMENT: Final = np.array([.5, .9, 1.0, 1.3, 1.4, .7, 1.2])
# P(onboarding product | segment): the account a customer opens when joining.
ONBOARDING: Final = {
    "junior": {"CA_JUNIOR": 1},
    "student": {"CA_STUDENT": 1},
    "mass": {"CA_SALARY": .55, "CA_EVERYDAY": .45},
    "affluent": {"CA_PREMIER": .6, "CA_SALARY": .4},
    "private": {"CA_PREMIER": 1},
    "senior": {"CA_EVERYDAY": .65, "CA_SALARY": .35},
    "small_business": {"CA_BUSINESS": .8, "CA_SALARY": .2},
}
EX_JUNIOR_SHARE: Final = 0.3  # young students (18-20) who joined as juniors


@dataclass(frozen=True)
class CustomerArrays:
    """Customer profiles as aligned arrays; position = the simulation's customer id."""

    birth_year: np.ndarray  # int32
    segment: np.ndarray  # int16 index into SEGMENTS
    income: np.ndarray  # int16 index into INCOME_BANDS, -1 = none
    risk_tolerance: np.ndarray  # int8 1..5
    region: np.ndarray  # int16 index into REGIONS
    consent: np.ndarray  # bool
    digital: np.ndarray  # bool
    onboarding: np.ndarray  # int16 product index
    joined_us: np.ndarray  # int64 instant of the onboarding purchase
    activity: np.ndarray  # float32 latent monthly activity multiplier (mean ~1)

    def __len__(self) -> int:
        return len(self.birth_year)


def age_band(age: np.ndarray) -> np.ndarray:
    """Age band index 0..5 (<18, 18-24, 25-34, 35-49, 50-64, 65+) of calendar ages."""
    return np.searchsorted(AGE_BAND_EDGES, age, side="right").astype(np.int16)


def sample_customers(
    rng: np.random.Generator, n: int, timeline: Timeline, catalog: SimCatalog
) -> CustomerArrays:
    """Draw `n` customer profiles; ages are calendar ages in the last year of the history."""
    last_year = int(years_of(np.array([timeline.end_us - 1]))[0])
    age = _sample_ages(rng, n)
    band = age_band(age)
    segment = sample_table(rng, table_cdf(SEGMENT_BY_AGE), band)
    income = sample_table(rng, table_cdf(INCOME_BY_SEGMENT), segment)
    income[segment == SEGMENTS.index("junior")] = -1
    region = sample_table(rng, table_cdf(np.array([REGION_WEIGHTS])), np.zeros(n, np.int16))
    p_digital = DIGITAL_BY_AGE[band] + 0.05 * (region == 0)
    digital = rng.random(n) < p_digital
    birth_year = (last_year - age).astype(np.int32)
    onboarding = _onboarding(rng, segment, age, catalog)
    activity = rng.gamma(2.0, 0.5, n) * ACTIVITY_BY_SEGMENT[segment] * np.where(digital, 1.25, 1)
    return CustomerArrays(
        birth_year=birth_year,
        segment=segment,
        income=income,
        risk_tolerance=_risk_tolerance(rng, segment, income, band),
        region=region,
        consent=rng.random(n) < CONSENT_RATE,
        digital=digital,
        onboarding=onboarding,
        joined_us=_joined(rng, birth_year, onboarding, timeline, catalog),
        activity=activity.astype(np.float32),
    )


def _sample_ages(rng: np.random.Generator, n: int) -> np.ndarray:
    junior = rng.random(n) < JUNIOR_SHARE
    adult = 18 + np.floor(rng.beta(1.8, 2.6, n) * 72)
    return np.where(junior, rng.integers(12, 18, n), adult).astype(np.int16)


def _risk_tolerance(rng: np.random.Generator, segment: np.ndarray, income: np.ndarray,
                    band: np.ndarray) -> np.ndarray:
    # latent score: richer, mid-career and private-banking customers accept more risk
    score = 2.3 + 0.45 * (np.maximum(income, 0) - 2) + RISK_BY_SEGMENT[segment]
    score += RISK_BY_AGE[band] + rng.normal(0.0, 0.9, len(segment))
    tolerance = np.clip(np.rint(score), 1, 5).astype(np.int8)
    tolerance[segment == SEGMENTS.index("junior")] = 1
    return tolerance


def _onboarding(rng: np.random.Generator, segment: np.ndarray, age: np.ndarray,
                catalog: SimCatalog) -> np.ndarray:
    table = np.zeros((len(SEGMENTS), len(catalog)))
    for s, name in enumerate(SEGMENTS):
        for pid, p in ONBOARDING[name].items():
            table[s, catalog.index(pid)] = p
    product = sample_table(rng, table_cdf(table), segment)
    ex_junior = (segment == SEGMENTS.index("student")) & (age <= 20)
    ex_junior &= rng.random(len(segment)) < EX_JUNIOR_SHARE
    product[ex_junior] = catalog.index("CA_JUNIOR")
    return product


def _joined(rng: np.random.Generator, birth_year: np.ndarray, onboarding: np.ndarray,
            timeline: Timeline, catalog: SimCatalog) -> np.ndarray:
    """Joining instant, uniform where the onboarding product's age limits allow it."""
    earliest = date_to_us(timeline.earliest)
    lo = np.maximum(earliest, _new_year_us(birth_year + catalog.min_age[onboarding]))
    hi = np.minimum(timeline.end_us, _new_year_us(birth_year + catalog.max_age[onboarding] + 1))
    if (hi <= lo).any():
        raise RuntimeError("a customer has no valid joining date; check ONBOARDING and ages")
    return lo + (rng.random(len(lo)) * (hi - lo)).astype(np.int64)


def _new_year_us(year: np.ndarray) -> np.ndarray:
    """Microseconds at 00:00 UTC on 1 January of each (int) year."""
    years = np.clip(year.astype(np.int64), 1900, 2200) - 1970
    return years.astype("datetime64[Y]").astype("datetime64[us]").astype(np.int64)


def customer_ids(n: int) -> pl.Series:
    """Customer ids 'C00000001'.. built with polars string ops (no Python string list)."""
    width = max(8, len(str(n)))
    digits = pl.Series(np.arange(1, n + 1, dtype=np.int64)).cast(pl.String).str.zfill(width)
    return ("C" + digits).alias(C.customer_id)


def labels(values: tuple[str, ...], codes: np.ndarray, name: str) -> pl.Series:
    """String column from small-integer codes; negative codes become null."""
    index = pl.Series(codes.astype(np.int32))
    index = pl.select(pl.when(index >= 0).then(index)).to_series()
    return pl.Series(name, values, dtype=pl.String).gather(index).alias(name)


def customers_frame(cust: CustomerArrays) -> pl.DataFrame:
    """The customers table in canonical dtypes, plus the extra `digital_active` feature."""
    joined_days = (cust.joined_us // DAY_US).astype(np.int32)
    return pl.DataFrame([
        customer_ids(len(cust)),
        pl.Series(C.birth_year, cust.birth_year, dtype=pl.Int32),
        labels(SEGMENTS, cust.segment, C.segment),
        pl.Series(C.risk_tolerance, cust.risk_tolerance, dtype=pl.Int8),
        pl.Series(C.marketing_consent, cust.consent, dtype=pl.Boolean),
        labels(INCOME_BANDS, cust.income, C.income_band),
        labels(REGIONS, cust.region, C.region),
        pl.Series(C.joined_at, joined_days, dtype=pl.Int32).cast(pl.Date),
        pl.Series(DIGITAL_ACTIVE, cust.digital, dtype=pl.Boolean),
    ])
