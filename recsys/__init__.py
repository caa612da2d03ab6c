"""bank-recsys core library: data contracts, models, evaluation, rules. No I/O servers here."""

__version__ = "0.1.0"
