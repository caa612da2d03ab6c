"""Hard business rules as vectorised boolean masks (customers x products), and the batch top-k."""

from recsys.rules.catalog import Catalog
from recsys.rules.combine import RULES, combine, rule_masks
from recsys.rules.customers import CustomerBatch
from recsys.rules.topk import PAD_ID, masked_topk

__all__ = [
    "PAD_ID",
    "RULES",
    "Catalog",
    "CustomerBatch",
    "combine",
    "masked_topk",
    "rule_masks",
]
