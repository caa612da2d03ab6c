"""The synthetic bank's product catalog: 46 products over every category in CATEGORIES."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import polars as pl

from recsys.columns import DEFAULT_CHANNELS
from recsys.columns import Columns as C
from recsys.data.generate.timeline import date_to_us
from recsys.data.schema import PRODUCTS

# Channel sets; an empty tuple means "sold everywhere", as the contract says.
ALL: Final[tuple[str, ...]] = ()
NO_ATM: Final = ("mobile", "web", "branch", "call_center")
ADVISED: Final = ("web", "branch", "call_center")
BRANCH: Final = ("branch", "call_center")

SPRING_FROM: Final = date(2025, 3, 1)
SPRING_TO: Final = date(2025, 5, 31)
ESG_LAUNCH: Final = date(2025, 9, 1)


@dataclass(frozen=True)
class ProductSpec:
    """One product: contract fields plus what the simulation needs (amount scale, closing)."""

    product_id: str
    name: str
    category: str
    risk: int
    min_age: int | None
    max_age: int | None
    channels: tuple[str, ...]
    amount: float  # typical purchase amount (EUR) for a middle-income customer
    close_prob: float  # chance that one purchase is closed later
    close_days: tuple[int, int]  # (min, max) days from purchase to close; equal = fixed term
    repeatable: bool = False
    active_from: date | None = None
    active_to: date | None = None


def _p(pid: str, name: str, cat: str, risk: int, ages: tuple, chans: tuple, amount: float,
       close: float, days: tuple[int, int], **kw: object) -> ProductSpec:
    return ProductSpec(pid, name, cat, risk, ages[0], ages[1], chans, amount, close, days, **kw)


ADULT: Final = (18, None)
SPECS: Final[tuple[ProductSpec, ...]] = (
    _p("CA_JUNIOR", "Junior Current Account", "current_account", 1, (0, 17), ALL, 50, .02,
       (90, 700)),
    _p("CA_STUDENT", "Student Current Account", "current_account", 1, (18, 30), ALL, 200, .03,
       (90, 700)),
    _p("CA_EVERYDAY", "Everyday Current Account", "current_account", 1, ADULT, ALL, 500, .03,
       (90, 700)),
    _p("CA_SALARY", "Salary Account", "current_account", 1, ADULT, ALL, 1500, .02, (90, 700)),
    _p("CA_PREMIER", "Premier Current Account", "current_account", 1, ADULT, NO_ATM, 10000, .02,
       (90, 700)),
    _p("CA_BUSINESS", "Small Business Current Account", "current_account", 1, ADULT, ALL, 5000,
       .03, (90, 700)),
    _p("SA_JUNIOR", "Junior Saver", "savings_account", 1, (0, 17), ALL, 300, .05, (60, 600)),
    _p("SA_EASY", "Easy Access Savings", "savings_account", 1, ADULT, ALL, 3000, .06, (60, 600)),
    _p("SA_BONUS", "Bonus Saver", "savings_account", 1, ADULT, ALL, 5000, .08, (60, 600)),
    _p("SA_NOTICE", "90-Day Notice Savings", "savings_account", 1, ADULT, NO_ATM, 8000, .06,
       (120, 600)),
    _p("TD_3M", "3-Month Term Deposit", "term_deposit", 1, ADULT, ALL, 10000, 1.0, (91, 91),
       repeatable=True),
    _p("TD_12M", "12-Month Term Deposit", "term_deposit", 1, ADULT, ALL, 15000, 1.0, (365, 365),
       repeatable=True),
    _p("TD_36M", "36-Month Term Deposit", "term_deposit", 1, ADULT, NO_ATM, 20000, 1.0,
       (1095, 1095), repeatable=True),
    _p("TD_SPRING", "Spring Campaign 6-Month Deposit", "term_deposit", 1, ADULT, ALL, 12000, 1.0,
       (182, 182), repeatable=True, active_from=SPRING_FROM, active_to=SPRING_TO),
    _p("WM_CONSERVATIVE", "Conservative Managed Portfolio", "wealth_management", 2, ADULT,
       ADVISED, 40000, .08, (120, 700)),
    _p("WM_BALANCED", "Balanced Managed Portfolio", "wealth_management", 3, ADULT, ADVISED,
       60000, .08, (120, 700)),
    _p("WM_GROWTH", "Growth Managed Portfolio", "wealth_management", 4, ADULT, ADVISED, 80000,
       .1, (120, 700)),
    _p("WM_PRIVATE", "Private Discretionary Mandate", "wealth_management", 5, ADULT, BRANCH,
       250000, .05, (180, 700)),
    _p("MF_MONEY_MARKET", "Money Market Fund", "mutual_fund", 1, ADULT, NO_ATM, 5000, .15,
       (60, 600)),
    _p("MF_BOND", "Government Bond Fund", "mutual_fund", 2, ADULT, NO_ATM, 8000, .12, (90, 600)),
    _p("MF_BALANCED", "Balanced Fund", "mutual_fund", 3, ADULT, NO_ATM, 10000, .12, (90, 600)),
    _p("MF_EQUITY", "Global Equity Fund", "mutual_fund", 4, ADULT, NO_ATM, 12000, .15, (60, 600)),
    _p("MF_EMERGING", "Emerging Markets Equity Fund", "mutual_fund", 5, ADULT, NO_ATM, 10000, .2,
       (60, 600)),
    _p("MF_ESG", "Sustainable Equity Fund", "mutual_fund", 3, ADULT, NO_ATM, 9000, .08,
       (60, 400), active_from=ESG_LAUNCH),
    _p("INS_TRAVEL", "Annual Travel Insurance", "insurance", 1, ADULT, ALL, 120, .45, (365, 365)),
    _p("INS_HOME", "Home Insurance", "insurance", 1, ADULT, NO_ATM, 400, .05, (365, 700)),
    _p("INS_LIFE", "Term Life Insurance", "insurance", 1, (18, 65), ADVISED, 600, .03,
       (365, 700)),
    _p("INS_HEALTH", "Health Insurance", "insurance", 1, (18, 75), NO_ATM, 1200, .06, (365, 700)),
    _p("INS_CAR", "Car Insurance", "insurance", 1, ADULT, NO_ATM, 700, .1, (365, 365)),
    _p("INS_PAYMENT", "Payment Protection Insurance", "insurance", 1, (18, 65), NO_ATM, 250, .1,
       (180, 700)),
    _p("CC_STUDENT", "Student Credit Card", "credit_card", 1, (18, 30), ALL, 500, .06, (90, 700)),
    _p("CC_CLASSIC", "Classic Credit Card", "credit_card", 1, ADULT, ALL, 2000, .06, (90, 700)),
    _p("CC_GOLD", "Gold Credit Card", "credit_card", 1, (21, None), ALL, 6000, .05, (90, 700)),
    _p("CC_PLATINUM", "Platinum Credit Card", "credit_card", 1, (25, None), NO_ATM, 15000, .04,
       (90, 700)),
    _p("CC_BUSINESS", "Business Credit Card", "credit_card", 1, ADULT, NO_ATM, 10000, .05,
       (90, 700)),
    _p("PL_PERSONAL", "Personal Loan", "personal_loan", 1, (18, 70), NO_ATM, 12000, .25,
       (180, 700)),
    _p("PL_STUDENT", "Student Loan", "personal_loan", 1, (18, 35), NO_ATM, 8000, .05,
       (365, 700)),
    _p("PL_RENOVATION", "Home Renovation Loan", "personal_loan", 1, (21, 70), NO_ATM, 20000, .15,
       (365, 700)),
    _p("MG_FIXED", "Fixed-Rate Mortgage", "mortgage", 1, (21, 65), ADVISED, 220000, .02,
       (365, 700)),
    _p("MG_VARIABLE", "Variable-Rate Mortgage", "mortgage", 1, (21, 65), ADVISED, 200000, .03,
       (365, 700)),
    _p("AL_NEW", "New Car Loan", "auto_loan", 1, (18, 70), NO_ATM, 25000, .1, (365, 700)),
    _p("AL_USED", "Used Car Loan", "auto_loan", 1, (18, 70), NO_ATM, 12000, .15, (365, 700)),
    _p("PM_GOLD", "Gold Savings Account", "precious_metals", 3, ADULT, ADVISED, 10000, .1,
       (90, 600)),
    _p("PM_SILVER", "Silver Bullion", "precious_metals", 4, ADULT, BRANCH, 5000, .12, (90, 600)),
    _p("FX_CASH", "Foreign Currency Cash", "fx", 1, ADULT, NO_ATM, 800, .6, (7, 90),
       repeatable=True),
    _p("FX_ACCOUNT", "Multi-Currency Account", "fx", 2, ADULT, NO_ATM, 5000, .05, (90, 700)),
)

# Ages are compared as calendar-year ages (event year - birth year); None = no limit.
NO_MIN_AGE: Final = 0
NO_MAX_AGE: Final = 200
# Far-away bounds for "no window" so one vectorised comparison covers every product.
NO_START_US: Final = np.iinfo(np.int64).min // 2
NO_END_US: Final = np.iinfo(np.int64).max // 2
_DAY_US: Final = 86_400 * 1_000_000


@dataclass(frozen=True)
class SimCatalog:
    """The catalog as numpy arrays indexed by product position (the simulation's product id)."""

    specs: tuple[ProductSpec, ...]
    ids: np.ndarray  # str
    risk: np.ndarray  # int8
    min_age: np.ndarray  # int16, NO_MIN_AGE when unlimited
    max_age: np.ndarray  # int16, NO_MAX_AGE when unlimited
    repeatable: np.ndarray  # bool
    active_from_us: np.ndarray  # int64, first instant sold
    active_until_us: np.ndarray  # int64, first instant no longer sold (exclusive)
    channel_mask: np.ndarray  # bool (products, channels in DEFAULT_CHANNELS order)
    amount: np.ndarray  # float64
    close_prob: np.ndarray  # float64
    close_days: np.ndarray  # int64 (products, 2)

    def __len__(self) -> int:
        return len(self.specs)

    def index(self, product_id: str) -> int:
        """Position of a product id in the catalog."""
        return int(np.flatnonzero(self.ids == product_id)[0])


def build_catalog(specs: tuple[ProductSpec, ...] = SPECS) -> SimCatalog:
    """Arrays for the simulation from the product specs."""
    chans = [s.channels or DEFAULT_CHANNELS for s in specs]
    return SimCatalog(
        specs=specs,
        ids=np.array([s.product_id for s in specs]),
        risk=np.array([s.risk for s in specs], dtype=np.int8),
        min_age=np.array([NO_MIN_AGE if s.min_age is None else s.min_age for s in specs],
                         dtype=np.int16),
        max_age=np.array([NO_MAX_AGE if s.max_age is None else s.max_age for s in specs],
                         dtype=np.int16),
        repeatable=np.array([s.repeatable for s in specs]),
        active_from_us=np.array(
            [NO_START_US if s.active_from is None else date_to_us(s.active_from) for s in specs],
            dtype=np.int64),
        active_until_us=np.array(
            [NO_END_US if s.active_to is None else date_to_us(s.active_to) + _DAY_US
             for s in specs], dtype=np.int64),
        channel_mask=np.array([[c in allowed for c in DEFAULT_CHANNELS] for allowed in chans]),
        amount=np.array([s.amount for s in specs]),
        close_prob=np.array([s.close_prob for s in specs]),
        close_days=np.array([s.close_days for s in specs], dtype=np.int64),
    )


# The bank's margin on a sale as a share of its typical amount (a plausible order, not data):
# credit pays, deposits pay little; the products' `value` column (recsys.ranking.policy).
MARGIN_RATE: Final = {
    "current_account": 0.02,
    "savings_account": 0.01,
    "term_deposit": 0.008,
    "wealth_management": 0.01,
    "mutual_fund": 0.015,
    "insurance": 0.3,
    "credit_card": 0.05,
    "personal_loan": 0.04,
    "mortgage": 0.01,
    "auto_loan": 0.03,
    "precious_metals": 0.01,
    "fx": 0.02,
}
_TAGS: Final = ("junior", "student", "business", "premier", "platinum", "private", "esg")


def product_value(spec: ProductSpec) -> float:
    """Expected margin per sale (EUR): the typical amount times the category's margin."""
    return round(spec.amount * MARGIN_RATE[spec.category], 2)


def product_term_months(spec: ProductSpec) -> int | None:
    """A fixed-term product's term in months (term deposits), else None."""
    low, high = spec.close_days
    return round(low / 30.44) if spec.category == "term_deposit" and low == high else None


def product_tags(spec: ProductSpec) -> list[str]:
    """Labels read off the product id (junior, student, esg...) and a campaign's window."""
    words = spec.product_id.lower().split("_")
    tags = [t for t in _TAGS if t in words]
    return tags + (["campaign"] if spec.active_to is not None else [])


def products_frame(specs: tuple[ProductSpec, ...] = SPECS) -> pl.DataFrame:
    """The products table in canonical dtypes (schema.PRODUCTS)."""
    cols = {
        C.product_id: [s.product_id for s in specs],
        C.name: [s.name for s in specs],
        C.category: [s.category for s in specs],
        C.risk_rating: [s.risk for s in specs],
        C.min_age: [s.min_age for s in specs],
        C.max_age: [s.max_age for s in specs],
        C.channels: [list(s.channels) for s in specs],
        C.repeatable: [s.repeatable for s in specs],
        C.active_from: [s.active_from for s in specs],
        C.active_to: [s.active_to for s in specs],
        C.value: [product_value(s) for s in specs],
        C.term_months: [product_term_months(s) for s in specs],
        C.tags: [product_tags(s) for s in specs],
    }
    schema = {c.name: c.dtype for c in PRODUCTS.columns}
    return pl.DataFrame(cols, schema=schema)
