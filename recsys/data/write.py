"""Write a canonical dataset folder (Parquet by default, CSV on request)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl

from recsys.columns import Columns as C
from recsys.data.dataset import BankData


def write_dataset(
    data: BankData, out_dir: Path, fmt: Literal["parquet", "csv"] = "parquet"
) -> Path:
    """Write customers/products/events into `out_dir`, replacing earlier files of either format."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("customers", "products", "events"):
        for old in (out_dir / f"{name}.parquet", out_dir / f"{name}.csv"):
            old.unlink(missing_ok=True)
        frame: pl.DataFrame = getattr(data, name)
        target = out_dir / f"{name}.{fmt}"
        tmp = target.with_suffix(target.suffix + ".tmp")
        if fmt == "parquet":
            frame.write_parquet(tmp)
        else:
            _csv_ready(frame).write_csv(tmp)
        tmp.replace(target)  # atomic: a reader never sees half a table
    return out_dir


def _csv_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """CSV has no lists: channels and tags become `|`-separated, as the contract allows."""
    lists = [c for c in (C.channels, C.tags) if isinstance(frame.schema.get(c), pl.List)]
    return frame.with_columns(pl.col(c).list.join("|") for c in lists) if lists else frame
