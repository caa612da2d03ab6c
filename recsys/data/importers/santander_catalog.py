"""The Santander product catalogue: category, risk rating and age limits per product code.

The source (`products.csv`) gives only a code and an English name. What follows is this
project's reading of the 24 codes (Spanish retail banking products), used for suitability
and eligibility rules:

- Risk ratings follow the usual R1..R5 investment scale: products that carry no investment
  risk for the customer (accounts, deposits, payment services, and credit products, whose
  risk lies with the bank) are R1; pension plans invest cautiously over the long term (R2);
  funds are diversified market investments (R3); a securities account holds individual
  shares and bonds (R4); a derivatives account is the riskiest (R5).
- Age limits: the junior account is for minors only (max 17); credit, investment and
  pension products need an adult (min 18). Everything else has no limit.
- Names come from products.csv, except where it names two products alike ("Pensions" for
  both the pension plan and the pension-payment service): NAME_OVERRIDES tells them apart.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import polars as pl

from recsys.columns import Columns as C

ADULT: Final = 18
MINOR_MAX: Final = 17


class ProductRule(NamedTuple):
    """How one Santander product code maps onto the canonical catalogue."""

    category: str
    risk_rating: int
    min_age: int | None = None
    max_age: int | None = None


# code                      category             R  min    max      (what it is)
CATALOGUE: Final[dict[str, ProductRule]] = {
    "ind_ahor_fin_ult1": ProductRule("savings_account", 1),  # saving account
    "ind_aval_fin_ult1": ProductRule("personal_loan", 1, ADULT),  # bank guarantee (credit line)
    "ind_cco_fin_ult1": ProductRule("current_account", 1),  # current account
    "ind_cder_fin_ult1": ProductRule("wealth_management", 5, ADULT),  # derivatives account
    "ind_cno_fin_ult1": ProductRule("current_account", 1),  # payroll account
    "ind_ctju_fin_ult1": ProductRule("savings_account", 1, None, MINOR_MAX),  # junior account
    "ind_ctma_fin_ult1": ProductRule("current_account", 1),  # "Más particular" account
    "ind_ctop_fin_ult1": ProductRule("current_account", 1),  # "particular" account
    "ind_ctpp_fin_ult1": ProductRule("current_account", 1),  # "particular plus" account
    "ind_deco_fin_ult1": ProductRule("term_deposit", 1),  # short-term deposit
    "ind_deme_fin_ult1": ProductRule("term_deposit", 1),  # medium-term deposit
    "ind_dela_fin_ult1": ProductRule("term_deposit", 1),  # long-term deposit
    "ind_ecue_fin_ult1": ProductRule("current_account", 1),  # e-account (online account)
    "ind_fond_fin_ult1": ProductRule("mutual_fund", 3, ADULT),  # investment funds
    "ind_hip_fin_ult1": ProductRule("mortgage", 1, ADULT),  # mortgage
    "ind_plan_fin_ult1": ProductRule("wealth_management", 2, ADULT),  # pension plan
    "ind_pres_fin_ult1": ProductRule("personal_loan", 1, ADULT),  # loan
    "ind_reca_fin_ult1": ProductRule("current_account", 1),  # tax payment service
    "ind_tjcr_fin_ult1": ProductRule("credit_card", 1, ADULT),  # credit card
    "ind_valo_fin_ult1": ProductRule("wealth_management", 4, ADULT),  # securities account
    "ind_viv_fin_ult1": ProductRule("savings_account", 1),  # home-purchase savings account
    "ind_nomina_ult1": ProductRule("current_account", 1),  # payroll paid into the account
    "ind_nom_pens_ult1": ProductRule("current_account", 1),  # pension paid into the account
    "ind_recibo_ult1": ProductRule("current_account", 1),  # direct debits
}

NAME_OVERRIDES: Final = {
    "ind_plan_fin_ult1": "Pension plan",
    "ind_nom_pens_ult1": "Pension payments",
}


def catalogue_frame() -> pl.DataFrame:
    """The catalogue as a frame keyed by product_id, in canonical dtypes."""
    codes = list(CATALOGUE)
    rules = list(CATALOGUE.values())
    return pl.DataFrame(
        {
            C.product_id: codes,
            C.category: [r.category for r in rules],
            C.risk_rating: [r.risk_rating for r in rules],
            C.min_age: [r.min_age for r in rules],
            C.max_age: [r.max_age for r in rules],
        },
        schema={
            C.product_id: pl.String,
            C.category: pl.String,
            C.risk_rating: pl.Int8,
            C.min_age: pl.Int16,
            C.max_age: pl.Int16,
        },
    )


def name_overrides() -> pl.DataFrame:
    """Names that replace the source's, keyed by product_id."""
    return pl.DataFrame(
        {C.product_id: list(NAME_OVERRIDES), "_name_override": list(NAME_OVERRIDES.values())}
    )
