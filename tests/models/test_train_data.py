"""TrainData alignment of feature frames to the matrix's id maps."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.data.idmap import IdMap
from recsys.models.train_data import align_to_ids

IDS = IdMap(np.array(["x", "y", "z"]))


def test_rows_follow_the_id_map_and_extra_rows_are_ignored() -> None:
    frame = pl.DataFrame({C.customer_id: ["z", "w", "x", "y"], C.segment: ["3", "0", "1", "2"]})
    out = align_to_ids(frame, C.customer_id, IDS, "customers")
    assert out[C.customer_id].to_list() == ["x", "y", "z"]
    assert out[C.segment].to_list() == ["1", "2", "3"]


def test_missing_ids_are_named() -> None:
    frame = pl.DataFrame({C.customer_id: ["x"]})
    with pytest.raises(ValueError, match=r"customers, column customer_id: 2 ids .*'y', 'z'"):
        align_to_ids(frame, C.customer_id, IDS, "customers")


def test_duplicate_ids_are_named() -> None:
    frame = pl.DataFrame({C.customer_id: ["x", "y", "z", "y"]})
    with pytest.raises(ValueError, match=r"duplicate ids \['y'\]"):
        align_to_ids(frame, C.customer_id, IDS, "customers")


def test_missing_id_column() -> None:
    with pytest.raises(ValueError, match="column customer_id is missing"):
        align_to_ids(pl.DataFrame({"id": ["x"]}), C.customer_id, IDS, "customers")
