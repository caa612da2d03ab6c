"""The products derived from the Berka (PKDD'99) tables, and the source codes behind them.

| product_id         | from                          | category        | R | repeat | ages  |
|--------------------|-------------------------------|-----------------|---|--------|-------|
| current_account    | account.asc (every account)   | current_account | 1 | no     |       |
| card_junior        | card.asc type "junior"        | credit_card     | 1 | no     | <= 20 |
| card_classic       | card.asc type "classic"       | credit_card     | 1 | no     | >= 18 |
| card_gold          | card.asc type "gold"          | credit_card     | 1 | no     | >= 18 |
| loan               | loan.asc (every loan)         | personal_loan   | 1 | no     | >= 18 |
| insurance_order    | order.asc k_symbol "POJISTNE" | insurance       | 1 | yes    |       |
| household_order    | order.asc k_symbol "SIPO"     | current_account | 1 | yes    |       |
| leasing_order      | order.asc k_symbol "LEASING"  | auto_loan       | 1 | yes    |       |
| loan_payment_order | order.asc k_symbol "UVER"     | personal_loan   | 1 | yes    |       |

- Nothing here is an investment, so every product is R1: suitability never blocks them.
- Card age limits come from the data: junior cards were issued at ages 12-20 (by birth
  year), classic and gold ones at 21 and over; 18 is the legal age for credit.
- Permanent orders are standing payment orders; an account may hold several of one kind (two
  insurance premiums), so they are repeatable. LEASING is filed as auto_loan: leasing is
  mostly for cars; SIPO (household bills: rent, energy, phone) is a payment service on the
  current account.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import polars as pl

from recsys.columns import Columns as C


class BerkaProduct(NamedTuple):
    """One derived product: canonical attributes."""

    name: str
    category: str
    repeatable: bool = False
    min_age: int | None = None
    max_age: int | None = None


CURRENT_ACCOUNT: Final = "current_account"
LOAN: Final = "loan"
CARD_PRODUCTS: Final = {
    "junior": "card_junior",
    "classic": "card_classic",
    "gold": "card_gold",
}
ORDER_PRODUCTS: Final = {
    "POJISTNE": "insurance_order",
    "SIPO": "household_order",
    "LEASING": "leasing_order",
    "UVER": "loan_payment_order",
}
CATALOGUE: Final[dict[str, BerkaProduct]] = {
    CURRENT_ACCOUNT: BerkaProduct("Current account", "current_account"),
    "card_junior": BerkaProduct("Junior card", "credit_card", max_age=20),
    "card_classic": BerkaProduct("Classic card", "credit_card", min_age=18),
    "card_gold": BerkaProduct("Gold card", "credit_card", min_age=18),
    LOAN: BerkaProduct("Loan", "personal_loan", min_age=18),
    "insurance_order": BerkaProduct("Insurance premium order", "insurance", True),
    "household_order": BerkaProduct("Household payments order", "current_account", True),
    "leasing_order": BerkaProduct("Leasing payment order", "auto_loan", True),
    "loan_payment_order": BerkaProduct("Loan repayment order", "personal_loan", True),
}


def products_frame() -> pl.DataFrame:
    """The catalogue in canonical dtypes, every product R1."""
    ids = list(CATALOGUE)
    rows = list(CATALOGUE.values())
    return pl.DataFrame(
        {
            C.product_id: ids,
            C.name: [r.name for r in rows],
            C.category: [r.category for r in rows],
            C.risk_rating: [1] * len(rows),
            C.min_age: [r.min_age for r in rows],
            C.max_age: [r.max_age for r in rows],
            C.repeatable: [r.repeatable for r in rows],
        },
        schema={
            C.product_id: pl.String,
            C.name: pl.String,
            C.category: pl.String,
            C.risk_rating: pl.Int8,
            C.min_age: pl.Int16,
            C.max_age: pl.Int16,
            C.repeatable: pl.Boolean,
        },
    ).sort(C.product_id)
