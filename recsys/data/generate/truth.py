"""The generator's latent state, kept beside a generated bank as `truth.npz`.

The tables hold what a bank would know; the latent activity of each customer and the state
the next choice depends on (the last two purchases and their instants, the non-repeatable
products ever bought) are the generator's own. `recsys simulate` reads them back so that
simulated customers answer by the very process that made the data (see response.py).
Customer i is the customer id `customer_ids(n)[i]`; product j is `build_catalog().ids[j]`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Final

import numpy as np

from recsys.data.generate.catalog import SimCatalog, build_catalog
from recsys.data.generate.customers import CustomerArrays, customer_ids
from recsys.data.generate.journeys import JourneyState

TRUTH_FILE: Final = "truth.npz"
README_FILE: Final = "README.md"
_CUST: Final = "customer."
_STATE: Final = "state."


class TruthError(ValueError):
    """A truth file that is missing or does not fit this generator (the message says why)."""


@dataclass(frozen=True)
class Truth:
    """Customers' latent traits and journey state at the end of the history."""

    customers: CustomerArrays
    state: JourneyState
    seed: int
    end_us: int  # the history's end (exclusive), microseconds since the epoch

    def __len__(self) -> int:
        return len(self.customers)

    def customer_ids(self) -> np.ndarray:
        """Customer ids as in the generated tables, by position."""
        return customer_ids(len(self)).to_numpy()


def write_truth(truth: Truth, folder: Path, catalog: SimCatalog | None = None) -> Path:
    """Write `truth.npz` into `folder` (atomically); returns its path."""
    catalog = catalog or build_catalog()
    arrays = {_CUST + f.name: getattr(truth.customers, f.name) for f in fields(CustomerArrays)}
    arrays |= {_STATE + f.name: getattr(truth.state, f.name) for f in fields(JourneyState)}
    arrays |= {
        "product_ids": catalog.ids.astype(str),
        "seed": np.int64(truth.seed),
        "end_us": np.int64(truth.end_us),
    }
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / TRUTH_FILE
    tmp = folder / (TRUTH_FILE + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(target)
    return target


def read_truth(folder: Path, catalog: SimCatalog | None = None) -> Truth:
    """`truth.npz` of a generated bank, checked against this generator's catalog."""
    catalog = catalog or build_catalog()
    path = folder / TRUTH_FILE
    if not path.is_file():
        raise TruthError(
            f"{path}: missing; only `recsys data generate` writes it (regenerate the bank)"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError) as exc:
        raise TruthError(f"{path}: cannot read: {exc}") from exc
    expected = [_CUST + f.name for f in fields(CustomerArrays)]
    expected += [_STATE + f.name for f in fields(JourneyState)] + ["product_ids", "seed", "end_us"]
    missing = [name for name in expected if name not in arrays]
    if missing:
        raise TruthError(f"{path}: missing arrays {missing}")
    if arrays["product_ids"].tolist() != catalog.ids.tolist():
        raise TruthError(f"{path}: product_ids differ from this generator's catalog")
    cust = CustomerArrays(**{f.name: arrays[_CUST + f.name] for f in fields(CustomerArrays)})
    state = JourneyState(**{f.name: arrays[_STATE + f.name] for f in fields(JourneyState)})
    n = len(cust)
    for f in fields(JourneyState):
        if len(getattr(state, f.name)) != n:
            raise TruthError(f"{path}: {_STATE + f.name} has {len(getattr(state, f.name))} "
                             f"rows, the customers {n}")
    if state.held.shape != (n, len(catalog)):
        raise TruthError(f"{path}: state.held is {state.held.shape}, expected {(n, len(catalog))}")
    return Truth(cust, state, seed=int(arrays["seed"]), end_us=int(arrays["end_us"]))


def readme_text(n_customers: int, seed: int, fmt: str) -> str:
    """The README a generated dataset folder carries: its files and what truth.npz holds."""
    return f"""# A generated bank

`recsys data generate --customers {n_customers} --seed {seed} --format {fmt}` wrote this
folder. The same command gives the same files on any day.

- `customers.{fmt}`, `products.{fmt}`, `events.{fmt}`: the canonical dataset (load it with
  `recsys data validate`, train on it with `recsys train`).
- `{TRUTH_FILE}`: the generator's latent ground truth, which a bank would not know and no
  model may read: each customer's latent activity (`customer.activity`) and profile codes
  (`customer.*`), and the state the next choice depends on at the end of the history
  (`state.last`, `state.last_us`, `state.previous`, `state.previous_us`: the last two
  purchases and their instants in microseconds; `state.held`: the non-repeatable products
  ever bought, customers x products). Row i is customer `C` + (i + 1) zero-padded to at
  least 8 digits; column j is `product_ids[j]`. `recsys simulate` reads it so that simulated
  customers click and buy by the same propensities that made the events (see
  `recsys/data/generate/response.py`).
"""
