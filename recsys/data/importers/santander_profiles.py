"""Santander customer profiles from the 48-column file, with documented defaults.

Mapping (train_ver2_head_2015-01.csv -> customers), where a customer appears there:

- birth_year = 2014 - age: `age` is the age on 2015-01-28, so only people born between
  1 and 28 January are off by one (about 8%).
- segment = `segmento` without its number: "02 - PARTICULARES" -> "particulares".
- income_band from `renta` (gross household income, EUR): lt_50k, 50k_100k, 100k_200k,
  ge_200k; null where `renta` is NA.
- region = `nomprov` (province), joined_at = `fecha_alta`, extra column sex = `sexo` as is
  (the source does not say which of H/V is which, so it is not translated).

Where a customer is not there (all of them in the published sample), or has no usable age:
birth_year = 2014 - the median age of the file's "02 - PARTICULARES" customers (the general
retail segment; the file as a whole is 84% university students with median age 23, which
would misdescribe the long-standing customers of adoption_events.csv), segment "unknown",
the other profile columns null, and the extra column profile_imputed = true.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import polars as pl

from recsys.columns import Columns as C
from recsys.data.importers.defaults import DEFAULT_MARKETING_CONSENT, UNKNOWN_SEGMENT, Extra
from recsys.data.importers.report import ImportReport
from recsys.data.importers.source import ImportSourceError, count_unparsed, read_text_table

PROFILES_FILE: Final = "train_ver2_head_2015-01.csv"
NCODPERS, AGE, SEGMENTO, RENTA = "ncodpers", "age", "segmento", "renta"
NOMPROV, FECHA_ALTA, SEXO = "nomprov", "fecha_alta", "sexo"
PROFILE_COLUMNS: Final = (NCODPERS, AGE, SEGMENTO, RENTA, NOMPROV, FECHA_ALTA, SEXO)

BIRTH_YEAR_FROM_AGE: Final = 2014  # ages are as of 2015-01-28
IMPUTATION_SEGMENT: Final = "02 - PARTICULARES"
MAX_AGE: Final = 120
INCOME_EDGES: Final = (50_000.0, 100_000.0, 200_000.0)
INCOME_BANDS: Final = ("lt_50k", "50k_100k", "100k_200k", "ge_200k")
MATCHED_FACT: Final = f"customers with a profile in {PROFILES_FILE}"


def customer_profiles(src: Path, ids: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
    """One customer row per id in `ids`: profile where known, documented defaults otherwise."""
    profiles = _read_profiles(src, report)
    default_year = default_birth_year(profiles)
    joined = ids.join(profiles, on=C.customer_id, how="left")
    matched = joined.filter(pl.col("_matched").fill_null(False))
    report.fact(MATCHED_FACT, matched.height)
    # Profile rows of people without adoption events have no events to go with: not imported.
    report.skip(
        "customers",
        PROFILES_FILE,
        "profile of a customer absent from adoption_events.csv",
        profiles.height - matched.height,
    )
    report.adjust(
        "customers",
        PROFILES_FILE,
        f"no profile: birth_year {default_year} (median age of {IMPUTATION_SEGMENT}), "
        f"segment {UNKNOWN_SEGMENT}",
        joined.height - matched.height,
    )
    report.adjust(
        "customers",
        PROFILES_FILE,
        f"profile without a usable age: birth_year {default_year}",
        matched.filter(pl.col(C.birth_year).is_null()).height,
    )
    return joined.select(
        C.customer_id,
        pl.col(C.birth_year).fill_null(default_year).cast(pl.Int32),
        pl.col(C.segment).fill_null(UNKNOWN_SEGMENT),
        pl.lit(DEFAULT_MARKETING_CONSENT).alias(C.marketing_consent),
        C.income_band,
        C.region,
        C.joined_at,
        pl.col(Extra.sex),
        pl.col(C.birth_year).is_null().alias(Extra.profile_imputed),
    )


def default_birth_year(profiles: pl.DataFrame) -> int:
    """2014 minus the median age of the general retail segment in the profile file."""
    ages = profiles.filter(pl.col("_segmento_raw") == IMPUTATION_SEGMENT)["_age"].drop_nulls()
    if ages.is_empty():
        raise ImportSourceError(
            f"{PROFILES_FILE}: no usable age in segment {IMPUTATION_SEGMENT!r}, so no default "
            "birth year can be derived"
        )
    return BIRTH_YEAR_FROM_AGE - round(float(ages.median()))


def _read_profiles(src: Path, report: ImportReport) -> pl.DataFrame:
    """The profile file parsed; rows without a usable ncodpers, or repeated, are counted out."""
    drop = report.dropper("rows", PROFILES_FILE)
    raw = report.read(PROFILES_FILE, read_text_table(src / PROFILES_FILE, PROFILE_COLUMNS))
    raw = drop(raw, pl.col(NCODPERS).is_null(), "empty ncodpers")
    raw = drop(raw, ~pl.col(NCODPERS).is_first_distinct(), "ncodpers repeated (first kept)")
    age = pl.col(AGE).cast(pl.Int32, strict=False)
    age = pl.when(age.is_between(0, MAX_AGE)).then(age)
    renta = pl.col(RENTA).cast(pl.Float64, strict=False)
    alta = pl.col(FECHA_ALTA).str.to_date("%Y-%m-%d", strict=False)
    count_unparsed(raw, {AGE: age, RENTA: renta, FECHA_ALTA: alta}, report, PROFILES_FILE)
    return raw.select(
        pl.col(NCODPERS).alias(C.customer_id),
        age.alias("_age"),
        (BIRTH_YEAR_FROM_AGE - age).alias(C.birth_year),
        pl.col(SEGMENTO).alias("_segmento_raw"),
        pl.col(SEGMENTO).str.replace(r"^\d+\s*-\s*", "").str.to_lowercase().alias(C.segment),
        renta.cut(list(INCOME_EDGES), labels=list(INCOME_BANDS), left_closed=True)
        .cast(pl.String)
        .alias(C.income_band),
        pl.col(NOMPROV).alias(C.region),
        alta.alias(C.joined_at),
        pl.col(SEXO).alias(Extra.sex),
        pl.lit(True).alias("_matched"),
    )
