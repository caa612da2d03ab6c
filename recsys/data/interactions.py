"""Customer x product interaction matrix (CSR) with frozen id maps both ways."""

from __future__ import annotations

from dataclasses import dataclass

import scipy.sparse as sp

from recsys.data.idmap import IdMap


@dataclass(frozen=True)
class Interactions:
    """A weighted customer x product CSR matrix plus the id maps of its rows and columns."""

    matrix: sp.csr_matrix  # float32, shape (len(customers), len(products))
    customers: IdMap
    products: IdMap

    @property
    def shape(self) -> tuple[int, int]:
        """(customers, products)."""
        return self.matrix.shape
