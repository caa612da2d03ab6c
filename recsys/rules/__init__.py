"""Hard business rules as vectorised boolean masks (customers x products), and the batch top-k."""

from recsys.rules.catalog import Catalog
from recsys.rules.combine import PRODUCT_RULES, RULES, combine, product_masks, rule_masks
from recsys.rules.customers import CustomerBatch
from recsys.rules.topk import PAD_ID, masked_topk

__all__ = [
    "PAD_ID",
    "PRODUCT_RULES",
    "RULES",
    "Catalog",
    "CustomerBatch",
    "combine",
    "masked_topk",
    "product_masks",
    "rule_masks",
]
