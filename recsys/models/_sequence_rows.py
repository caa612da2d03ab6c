"""The sequence model for one customer at a time: scores and reasons without sparse matrices.

A request scores one history row. Its design row [held | newest | profile] is a handful of
indicator features, so building it as CSR matrices (several scipy constructions, an hstack)
costs far more than the arithmetic. Here the row is a sorted array of feature ids and the
arithmetic is the same as the matrix path's, in the same order, so the floats are equal:

- scores: csr @ W adds W's rows of the row's features one after another (times 1.0) into
  zeros; numpy's sum over axis 0 adds the same rows in the same order;
- reasons: every product's shares come from one gather of W, with the weights
  `SequenceRecommender._explain` gives its candidates (float64 sums of the held and newest
  shares per item, float32 profile shares); one stable sort over all products picks each
  product's k strongest, and only those become Reason objects.

Rows this path does not cover (several rows, duplicate or unsorted column ids, non-finite
weights) return None and the caller takes the matrix path.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from recsys.models.reason import Reason, ReasonCode

JUST_TOOK = "customers who just took {0} often take this next"
HOLDS = "customers who hold {0} often add this"
POPULAR = Reason(ReasonCode.popular, "popular with our customers")


def design_row(
    history: sp.csr_matrix, recent_ratio: float | None, profile: np.ndarray
) -> tuple[np.ndarray, int, int] | None:
    """(feature ids ascending, number held, number newest) of a 1-row history, or None.

    Equals the column ids of `design_matrix(Contexts.of_rows(history, ratio), n, profile)`
    for the row (`profile`: the row's profile feature ids, ascending).
    """
    if history.shape[0] != 1:
        return None
    data, items = history.data, history.indices
    if len(items) > 1 and not (np.diff(items) > 0).all():
        return None  # duplicates are summed by the matrix path: leave them to it
    if not np.isfinite(data).all():
        return None
    keep = data > 0
    values = data[keep].astype(np.float64)
    held = items[keep].astype(np.int64)
    n = history.shape[1]
    if recent_ratio is None or not len(values):
        newest = held[:0]
    else:
        newest = held[values >= recent_ratio * values.max()]
    ids = np.concatenate([held, newest + n, profile + 2 * n])
    return ids, len(held), len(newest)


def row_scores(
    ids: np.ndarray,
    weights: np.ndarray,
    bias: np.ndarray,
    history: sp.csr_matrix,
    interest_weight: float,
) -> np.ndarray:
    """(1, n) float32 scores of one design row: `(x @ W) + b + interest * history`."""
    if len(ids):
        scores = weights[ids].sum(axis=0) + bias
    else:
        scores = np.zeros(weights.shape[1], dtype=np.float32) + bias
    if interest_weight > 0:
        dense = np.zeros(history.shape[1], dtype=history.dtype)
        dense[history.indices] = history.data  # unique sorted ids (design_row checked)
        scores += interest_weight * dense
    return scores[None, :]


def row_reasons(
    ids: np.ndarray,
    n_held: int,
    n_newest: int,
    weights: np.ndarray,
    products: Sequence[int],
    k: int,
    profile_texts: Sequence[str],
    n: int,
) -> list[list[Reason]]:
    """Up to k reasons per product, equal to `SequenceRecommender.explain` product by product.

    `profile_texts[f]`: the reason text of profile feature f. The candidates of a product are
    its held items (held and newest shares summed in float64, as bincount sums them) whose
    total is positive, the product itself left out, then the profile features whose float32
    share is positive; `explain` sorts them stably by weight, strongest first, and keeps k.
    """
    cols = np.asarray(products, dtype=np.int64)
    shares = weights[ids][:, cols]  # (features, products) float32: x's values are 1
    held = ids[:n_held]
    total = shares[:n_held].astype(np.float64)
    at = np.searchsorted(held, ids[n_held : n_held + n_newest] - n)
    total[at] += shares[n_held : n_held + n_newest].astype(np.float64)
    profile = shares[n_held + n_newest :]
    weight = np.concatenate([total, profile.astype(np.float64)])  # (candidates, products)
    valid = np.concatenate([(total > 0) & (held[:, None] != cols[None, :]), profile > 0])
    # invalid candidates sort last; a stable sort keeps candidate order among equal weights
    order = np.argsort(np.where(valid, -weight, np.inf), axis=0, kind="stable")[:k]
    column = np.arange(len(cols))
    chosen = valid[order, column].T.tolist()
    strongest = weight[order, column].T.tolist()
    found = _candidates(
        held, at, n_newest < n_held, ids[n_held + n_newest :] - 2 * n, profile_texts
    )
    return [
        [Reason(*found[c], w) for c, w, keep in zip(picks, ws, valid_j, strict=True) if keep]
        or [POPULAR]
        for picks, ws, valid_j in zip(order.T.tolist(), strongest, chosen, strict=True)
    ]


def _candidates(
    held: np.ndarray,
    newest_at: np.ndarray,
    newest_says: bool,
    profile: np.ndarray,
    profile_texts: Sequence[str],
) -> list[tuple[str, str, tuple[int, ...]]]:
    """(code, text, related products) of every candidate reason, in candidate order."""
    texts = [HOLDS] * len(held)
    if newest_says:  # "just took" only says something when some other product is older
        for at in newest_at.tolist():
            texts[at] = JUST_TOOK
    return [
        *((ReasonCode.co_held, t, (i,)) for i, t in zip(held.tolist(), texts, strict=True)),
        *((ReasonCode.similar_profile, profile_texts[f], ()) for f in profile.tolist()),
    ]
