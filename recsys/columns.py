"""Column names of the canonical tables, in one place (never string literals elsewhere)."""

from typing import Final


class Columns:
    """Canonical column names shared by the data contracts, models and services."""

    customer_id: Final = "customer_id"
    product_id: Final = "product_id"
    # customers
    birth_year: Final = "birth_year"
    segment: Final = "segment"
    risk_tolerance: Final = "risk_tolerance"
    marketing_consent: Final = "marketing_consent"
    income_band: Final = "income_band"
    region: Final = "region"
    joined_at: Final = "joined_at"
    # products
    name: Final = "name"
    category: Final = "category"
    risk_rating: Final = "risk_rating"
    min_age: Final = "min_age"
    max_age: Final = "max_age"
    channels: Final = "channels"
    repeatable: Final = "repeatable"
    active_from: Final = "active_from"
    active_to: Final = "active_to"
    value: Final = "value"  # expected margin per sale (arbitration by expected value)
    term_months: Final = "term_months"  # a deposit's or loan's term (a cold-start attribute)
    tags: Final = "tags"  # free labels, e.g. green, digital_only (cold-start attributes)
    # events
    event: Final = "event"
    timestamp: Final = "timestamp"
    channel: Final = "channel"
    amount: Final = "amount"
    # derived
    quantity: Final = "quantity"
    weight: Final = "weight"
    row: Final = "row"


class Events:
    """Event type names (the default configured set)."""

    purchase: Final = "purchase"
    close: Final = "close"
    apply: Final = "apply"
    view: Final = "view"
    click: Final = "click"
    impression: Final = "impression"
    reject: Final = "reject"  # the customer said no to a suggestion (suppresses it a while)

    all: Final = ("purchase", "close", "apply", "view", "click", "impression", "reject")


DEFAULT_CHANNELS: Final = ("mobile", "web", "branch", "call_center", "atm")
# Channels the bank pushes through (campaigns); they join the configured channels.
OUTBOUND_CHANNELS: Final = ("email", "sms", "push")

# Product categories from DESIGN.md; importers and the generator map onto these.
CATEGORIES: Final = (
    "current_account",
    "savings_account",
    "term_deposit",
    "wealth_management",
    "mutual_fund",
    "insurance",
    "credit_card",
    "personal_loan",
    "mortgage",
    "auto_loan",
    "precious_metals",
    "fx",
)
