"""Defaults every importer applies where a source says nothing, and the extra column names.

- risk_tolerance: none of the public sources has a KYC questionnaire. The default is C3
  ("balanced"), the middle of the scale: it neither opens high-risk products to everyone nor
  locks everyone out of funds. Importers raise it where a holding proves more (see santander).
- marketing_consent: no source records consent, and consent is never assumed: False.
- segment: "unknown" where the source has no segment of its own.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from recsys.columns import Columns as C

DEFAULT_RISK_TOLERANCE: Final = 3
DEFAULT_MARKETING_CONSENT: Final = False
UNKNOWN_SEGMENT: Final = "unknown"


class Extra:
    """Names of the extra (non-canonical) customer columns the importers add."""

    sex: Final = "sex"
    profile_imputed: Final = "profile_imputed"  # birth_year etc. are defaults, not source data
    marital_status: Final = "marital_status"
    branch_code: Final = "branch_code"
    occupation_code: Final = "occupation_code"
    occupation_category_code: Final = "occupation_category_code"
    source_split: Final = "source_split"  # zimnat: "train" or "test"
    district: Final = "district"
    disposition: Final = "disposition"  # berka: owner or disponent of the account
    statement_frequency: Final = "statement_frequency"


def default_profile_columns() -> list[pl.Expr]:
    """risk_tolerance and marketing_consent set to the documented defaults."""
    return [
        pl.lit(DEFAULT_RISK_TOLERANCE, pl.Int8).alias(C.risk_tolerance),
        pl.lit(DEFAULT_MARKETING_CONSENT, pl.Boolean).alias(C.marketing_consent),
    ]
