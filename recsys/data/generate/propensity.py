"""The planted structure: product-to-next-product transitions and profile propensities.

Keys of the multiplier tables are product ids or categories (a product id wins over its
category); every product not named keeps multiplier 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from recsys.data.generate.catalog import SimCatalog
from recsys.data.generate.customers import AGE_BAND_EDGES, INCOME_BANDS, SEGMENTS

# Life-cycle successors: after buying the key product, the next purchase tends to be one of
# these (relative weights). Chains: salary account -> credit card -> travel insurance -> FX;
# mortgage -> home insurance -> life insurance; car loan -> car insurance; and the investor's
# risk ladder savings -> term deposit -> bond fund (R2) -> balanced (R3) -> equity (R4) -> R5.
SUCCESSORS: Final[dict[str, dict[str, float]]] = {
    "CA_JUNIOR": {"SA_JUNIOR": 6, "CA_STUDENT": 8, "CC_STUDENT": 2},
    "CA_STUDENT": {"CC_STUDENT": 4, "SA_EASY": 3, "PL_STUDENT": 2, "INS_TRAVEL": 1},
    "CA_EVERYDAY": {"SA_EASY": 5, "CA_SALARY": 3, "CC_CLASSIC": 1, "PL_PERSONAL": 1},
    "CA_SALARY": {"CC_CLASSIC": 8, "SA_EASY": 1, "PL_PERSONAL": 1},
    "CA_PREMIER": {"CC_GOLD": 3, "CC_PLATINUM": 2, "WM_CONSERVATIVE": 3, "SA_BONUS": 2},
    "CA_BUSINESS": {"CC_BUSINESS": 4, "FX_ACCOUNT": 3, "SA_EASY": 2, "PL_PERSONAL": 1},
    "SA_JUNIOR": {"CA_STUDENT": 6, "CC_STUDENT": 1},
    "SA_EASY": {"TD_12M": 5, "TD_SPRING": 4, "SA_BONUS": 2, "TD_3M": 2},
    "SA_BONUS": {"TD_12M": 4, "MF_MONEY_MARKET": 3, "TD_SPRING": 3},
    "SA_NOTICE": {"TD_36M": 4, "MF_BOND": 3},
    "TD_3M": {"TD_3M": 4, "TD_12M": 3, "MF_MONEY_MARKET": 2},
    "TD_12M": {"MF_BOND": 5, "TD_12M": 3, "WM_CONSERVATIVE": 2},
    "TD_36M": {"MF_BOND": 3, "SA_NOTICE": 2, "INS_HEALTH": 1},
    "TD_SPRING": {"TD_12M": 4, "MF_BOND": 3},
    "MF_MONEY_MARKET": {"MF_BOND": 6, "TD_12M": 2},
    "MF_BOND": {"MF_BALANCED": 6, "WM_CONSERVATIVE": 2},
    "MF_BALANCED": {"MF_EQUITY": 6, "MF_ESG": 3, "WM_BALANCED": 2, "PM_GOLD": 1},
    "MF_EQUITY": {"MF_EMERGING": 5, "WM_GROWTH": 3, "PM_SILVER": 1},
    "MF_EMERGING": {"WM_GROWTH": 3, "WM_PRIVATE": 2, "PM_SILVER": 2},
    "MF_ESG": {"MF_EQUITY": 4, "WM_BALANCED": 2},
    "WM_CONSERVATIVE": {"WM_BALANCED": 5, "INS_LIFE": 2},
    "WM_BALANCED": {"WM_GROWTH": 5, "PM_GOLD": 2},
    "WM_GROWTH": {"WM_PRIVATE": 4, "PM_GOLD": 2},
    "WM_PRIVATE": {"PM_GOLD": 3, "FX_ACCOUNT": 3},
    "CC_STUDENT": {"INS_TRAVEL": 6, "CC_CLASSIC": 2},
    "CC_CLASSIC": {"INS_TRAVEL": 7, "CC_GOLD": 2, "PL_PERSONAL": 2},
    "CC_GOLD": {"INS_TRAVEL": 6, "CC_PLATINUM": 2, "FX_CASH": 2},
    "CC_PLATINUM": {"INS_TRAVEL": 5, "FX_ACCOUNT": 3, "WM_BALANCED": 2},
    "CC_BUSINESS": {"FX_ACCOUNT": 4, "PL_PERSONAL": 2, "INS_TRAVEL": 2},
    "INS_TRAVEL": {"FX_CASH": 6, "CC_GOLD": 1},
    "INS_HOME": {"INS_LIFE": 4, "PL_RENOVATION": 3},
    "INS_LIFE": {"INS_HEALTH": 3, "SA_NOTICE": 2},
    "INS_HEALTH": {"INS_LIFE": 2, "SA_NOTICE": 2},
    "INS_CAR": {"CC_CLASSIC": 2, "INS_HOME": 2},
    "INS_PAYMENT": {"SA_EASY": 2},
    "PL_PERSONAL": {"INS_PAYMENT": 5, "CC_CLASSIC": 2},
    "PL_STUDENT": {"CC_STUDENT": 3, "CA_SALARY": 3},
    "PL_RENOVATION": {"INS_HOME": 4},
    "MG_FIXED": {"INS_HOME": 8, "INS_LIFE": 3, "INS_PAYMENT": 1},
    "MG_VARIABLE": {"INS_HOME": 8, "INS_LIFE": 3},
    "AL_NEW": {"INS_CAR": 8, "INS_PAYMENT": 2},
    "AL_USED": {"INS_CAR": 8},
    "PM_GOLD": {"PM_SILVER": 4, "FX_ACCOUNT": 2},
    "PM_SILVER": {"PM_GOLD": 3},
    "FX_CASH": {"FX_CASH": 3, "FX_ACCOUNT": 2, "INS_TRAVEL": 2},
    "FX_ACCOUNT": {"FX_CASH": 4, "PM_GOLD": 2},
}

# Life events not triggered by a previous product (mortgage, car loan, ...), by category.
BASE: Final[dict[str, float]] = {
    "current_account": .3, "savings_account": 1, "term_deposit": 1, "wealth_management": .4,
    "mutual_fund": .6, "insurance": 1, "credit_card": .6, "personal_loan": .6, "mortgage": .6,
    "auto_loan": .6, "precious_metals": .25, "fx": .5, "TD_SPRING": 4, "INS_TRAVEL": 1.5,
    "CC_CLASSIC": .8, "CC_PLATINUM": .3, "WM_PRIVATE": .15, "MF_EMERGING": .3, "PM_SILVER": .15,
    "MF_ESG": 1.5,
}

BY_SEGMENT: Final[dict[str, dict[str, float]]] = {
    "junior": {"SA_JUNIOR": 3},
    "student": {"CC_STUDENT": 3, "PL_STUDENT": 3, "CA_STUDENT": 2, "mortgage": .1,
                "wealth_management": .1, "mutual_fund": .4, "precious_metals": .2,
                "INS_TRAVEL": 1.5, "term_deposit": .4},
    "mass": {"wealth_management": .3, "CC_PLATINUM": .2, "precious_metals": .4, "WM_PRIVATE": .05,
             "CA_PREMIER": .2, "CA_BUSINESS": .1, "CC_BUSINESS": .1},
    "affluent": {"wealth_management": 2, "mutual_fund": 1.8, "CC_GOLD": 2, "CC_PLATINUM": 2.5,
                 "precious_metals": 1.5, "fx": 1.5, "CA_BUSINESS": .1, "CC_BUSINESS": .1},
    "private": {"wealth_management": 4, "WM_PRIVATE": 10, "mutual_fund": 2, "precious_metals": 3,
                "CC_PLATINUM": 4, "fx": 2, "personal_loan": .3, "CC_CLASSIC": .3,
                "CA_BUSINESS": .1, "CC_BUSINESS": .1},
    "senior": {"INS_HEALTH": 3, "term_deposit": 2, "savings_account": 1.8, "credit_card": .5,
               "mortgage": .1, "auto_loan": .3, "personal_loan": .4, "INS_LIFE": .2,
               "CA_BUSINESS": .05, "CC_BUSINESS": .05},
    "small_business": {"CC_BUSINESS": 6, "CA_BUSINESS": 3, "fx": 2, "personal_loan": 1.5},
}
# One value per age band (<18, 18-24, 25-34, 35-49, 50-64, 65+).
BY_AGE: Final[dict[str, tuple[float, ...]]] = {
    "mortgage": (0, .3, 3, 2, .5, .05),
    "auto_loan": (0, .8, 2, 1.5, 1, .3),
    "INS_LIFE": (0, .3, 1.5, 2, 1, .1),
    "INS_HEALTH": (0, .3, .6, 1, 2, 3),
    "term_deposit": (1, .5, .8, 1, 1.5, 2),
    "personal_loan": (0, 1.2, 1.5, 1.2, .8, .3),
    "INS_TRAVEL": (1, 1.3, 1.3, 1, 1, .7),
    "wealth_management": (0, .2, .6, 1, 1.4, 1.2),
}
# One value per income band, first for "none" (juniors), then INCOME_BANDS order.
BY_INCOME: Final[dict[str, tuple[float, ...]]] = {
    "wealth_management": (0, .2, .5, 1, 1.8, 3),
    "mutual_fund": (0, .4, .7, 1, 1.5, 2),
    "precious_metals": (0, .3, .6, 1, 1.6, 2.5),
    "CC_GOLD": (0, .2, .5, 1, 2, 2.5),
    "CC_PLATINUM": (0, .05, .2, .6, 1.5, 3),
    "CA_PREMIER": (0, .1, .3, 1, 2, 3),
    "mortgage": (0, .3, .7, 1, 1.3, 1.3),
    "personal_loan": (0, 1.3, 1.2, 1, .8, .5),
    "term_deposit": (1, .6, .8, 1, 1.3, 1.5),
}
N_AGE_BANDS: Final = len(AGE_BAND_EDGES) + 1
N_INCOME: Final = len(INCOME_BANDS) + 1


@dataclass(frozen=True)
class Propensity:
    """Dense tables over catalog positions: transitions, base rates and profile multipliers."""

    transition: np.ndarray  # float32 (P, P), rows sum to 1
    base: np.ndarray  # float32 (P,), sums to 1
    profile: np.ndarray  # float32 (segments * age bands * incomes, P)

    def profile_group(
        self, segment: np.ndarray, band: np.ndarray, income: np.ndarray
    ) -> np.ndarray:
        """Row of `profile` for each customer (income -1 = none)."""
        return (segment.astype(np.int32) * N_AGE_BANDS + band) * N_INCOME + income + 1


def build_propensity(catalog: SimCatalog) -> Propensity:
    """Dense tables from the dictionaries above, aligned with the catalog's product order."""
    base = _row(catalog, BASE, default=0.0)
    base /= base.sum()
    transition = np.tile(base, (len(catalog), 1))
    for pid, successors in SUCCESSORS.items():
        row = _row(catalog, successors, default=0.0)
        transition[catalog.index(pid)] = row / row.sum()
    seg = np.stack([_row(catalog, BY_SEGMENT[s]) for s in SEGMENTS])
    age = _columns(catalog, BY_AGE, N_AGE_BANDS)
    inc = _columns(catalog, BY_INCOME, N_INCOME)
    profile = seg[:, None, None, :] * age[None, :, None, :] * inc[None, None, :, :]
    return Propensity(
        transition=transition.astype(np.float32),
        base=base.astype(np.float32),
        profile=profile.reshape(-1, len(catalog)).astype(np.float32),
    )


def _row(catalog: SimCatalog, mapping: dict[str, float], default: float = 1.0) -> np.ndarray:
    row = np.full(len(catalog), default)
    _check_keys(catalog, mapping)
    for i, spec in enumerate(catalog.specs):
        row[i] = mapping.get(spec.product_id, mapping.get(spec.category, default))
    return row


def _columns(catalog: SimCatalog, mapping: dict[str, tuple[float, ...]], width: int) -> np.ndarray:
    """(width, P) multipliers from per-key tuples of `width` values."""
    _check_keys(catalog, mapping)
    table = np.ones((width, len(catalog)))
    for i, spec in enumerate(catalog.specs):
        values = mapping.get(spec.product_id, mapping.get(spec.category))
        if values is not None:
            table[:, i] = values
    return table


def _check_keys(catalog: SimCatalog, mapping: dict) -> None:
    known = set(catalog.ids.tolist()) | {s.category for s in catalog.specs}
    unknown = set(mapping) - known
    if unknown:
        raise ValueError(f"propensity keys not in the catalog: {sorted(unknown)}")
