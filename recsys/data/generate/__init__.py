"""Synthetic bank data with planted, learnable structure: `generate(n_customers, seed)`.

The generative process (every step vectorised over all customers; numbers are defaults)
------------------------------------------------------------------------------------------
SimCatalog (catalog.py). 46 products over all CATEGORIES. Accounts, savings, term deposits,
insurance, cards and loans are rated R1; investments spread R1..R5 (money-market fund R1,
bond fund R2, balanced R3, equity R4, emerging markets R5; managed portfolios R2..R5; gold
R3, silver R4; multi-currency account R2). Age limits (junior accounts 0-17, student products
18-30, mortgages 21-65, Gold card 21+, Platinum 25+, life insurance up to 65), channels
(mortgages and advised products not at the ATM; private mandate and silver in branch or call
centre only), repeatable products (term deposits, FX cash) and two sale windows: the Spring
Campaign deposit (2025-03-01..2025-05-31) and a fund launched on 2025-09-01.

Customers (customers.py). 4% juniors aged 12-17, adults 18 + 72 * Beta(1.8, 2.6) (calendar
age in the last year of the history). Segment from age band (junior, student, mass, affluent,
private, senior, small_business); income band from segment (null for juniors); risk tolerance
C1..C5 = round(2.3 + 0.45 * (income - middle) + segment shift + age shift + N(0, 0.9)),
juniors C1; region; `digital_active` (likelier when young); marketing consent with p = 0.7;
a latent activity ~ Gamma(2, 0.5) scaled by segment and digital use. Each customer opens an
onboarding account chosen by segment (salary/everyday for mass, premier for affluent and
private, business for small business, student or junior accounts for the young) on
`joined_at`, uniform over the 12 years before the window up to its end, within the account's
age limits: that purchase is the first event.

Journeys (journeys.py). Time runs in steps: 6-month steps over the 12 years before the
window (intent rate halved; only purchases are kept, so long-standing customers enter the
window holding products bought in a realistic order), then one step per month. In each step
a customer who has joined forms at most one intent, with probability 1 - exp(-rate * months),
rate = 0.075 * activity * (1 + 1.5 * 2^(-months since last purchase / 3)). The product is
drawn by inverse CDF from

    eligible * profile[segment, age band, income] * (a1 T[last] + a2 T[previous] + (1-a1-a2) base)

with a1 = 0.85 * 2^(-months since the last purchase / 12), a2 = 0.1 * (same for the purchase
before it). T (propensity.py) holds the life-cycle successors: salary account -> classic
credit card -> travel insurance -> FX cash; mortgage -> home insurance -> life insurance; car
loan -> car insurance; personal loan -> payment protection; junior account -> student account
at 18; the investor's risk ladder savings -> term deposit -> bond fund (R2) -> balanced fund
(R3) -> equity fund (R4) -> emerging markets (R5) / managed portfolios. `base` holds life
events that need no trigger (mortgages, car loans, insurance, the spring campaign). The
profile multipliers favour mortgages at 25-49, health insurance after 50, premium cards and
investments with income, business products for small businesses.
`eligible` is the hard rule set: risk rating <= risk tolerance, calendar age (event year -
birth year) within the limits, product on sale at that moment, non-repeatable products bought
at most once. An intent converts into a purchase with p = 0.6 (0.45 for credit products); a
purchase becomes the new "last product". So the next purchase is predictable from the last
purchases (order and recency) plus the profile, which popularity cannot see: on the last six
months, "successors of the last purchase" hits the next purchase in its top 5 about 0.6 of
the time against about 0.3 for popularity (tests/data/generate/test_journeys.py).

Other events (browsing.py, exposure.py). Inside the window, every intent is viewed
1 + Poisson(0.8) times in the 14 days before it; clicked with p = 0.35 (bought) / 0.25
(browsed) in the 3 days before; credit products are applied for with p = 0.9 (bought) / 0.3
(declined or abandoned). Purchases carry an amount (product scale * income multiplier *
LogNormal(0, 0.5)). Some purchases, before or in the window, close later: term deposits at
maturity, travel and car insurance after a year, cards, loans, funds and accounts with
product-specific odds; a close always follows its purchase, and only closes before the end
are kept. Consenting customers get Poisson(2.5) impressions of popular products suitable for
them (risk and age), clicked with p = 0.06 within 10 minutes; everyone makes Poisson(0.5)
stray views of popular products (suitable or not: browsing is free). Each event gets a
channel from the customer's preference (digital use x age class) among the product's
channels. Scale: 1,000,000 customers give about 12M events.

Ground truth (truth.py, response.py). `generate_with_truth` also returns the latent state
behind the data (each customer's activity and profile codes, the last two purchases and the
non-repeatables ever bought at the end of the history); `recsys data generate` keeps it as
truth.npz beside the tables. response.py turns the same rate and choice weights into
P(click | shown product) and P(purchase | click) for `recsys simulate` (docs/simulation.md).

Determinism: one numpy SeedSequence(seed) spawns a stream per stage, the time anchor is fixed
(history 2024-11-01 .. 2026-10-31 by default, never the clock), and events are sorted stably
by (timestamp, customer, product, event).
"""

from recsys.data.generate.catalog import SPECS, build_catalog, products_frame
from recsys.data.generate.generator import (
    ProgressFn,
    generate,
    generate_with_truth,
    total_steps,
)
from recsys.data.generate.timeline import DEFAULT_MONTHS, DEFAULT_START

__all__ = [
    "DEFAULT_MONTHS",
    "DEFAULT_START",
    "SPECS",
    "ProgressFn",
    "build_catalog",
    "generate",
    "generate_with_truth",
    "products_frame",
    "total_steps",
]
