"""A campaign's output file, written chunk by chunk (memory bounded by one chunk)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from recsys.campaigns.output import OUTPUT_SCHEMA

FORMATS = (".parquet", ".csv")


class ContactWriter:
    """Appends contact frames to a Parquet or CSV file (by its suffix); `close` finishes it."""

    def __init__(self, path: Path) -> None:
        if path.suffix not in FORMATS:
            raise ValueError(f"{path}: the output must end in .parquet or .csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.rows = 0
        self._parquet = None
        self._csv = None
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            schema = pl.DataFrame(schema=OUTPUT_SCHEMA).to_arrow().schema
            self._parquet = pq.ParquetWriter(path, schema)
        else:
            self._csv = path.open("w", encoding="utf-8", newline="")
            self._csv.write(",".join(OUTPUT_SCHEMA) + "\n")

    def write(self, frame: pl.DataFrame) -> None:
        """Append one chunk's rows."""
        if not frame.height:
            return
        if self._parquet is not None:
            self._parquet.write_table(frame.to_arrow())
        elif self._csv is not None:
            self._csv.write(frame.write_csv(include_header=False))
        self.rows += frame.height

    def close(self) -> None:
        """Finish the file."""
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._csv is not None:
            self._csv.close()
            self._csv = None


def read_contacts(path: Path) -> pl.DataFrame:
    """A campaign's output file back as a frame."""
    if path.suffix == ".csv":
        return pl.read_csv(path, schema=OUTPUT_SCHEMA)
    return pl.read_parquet(path)
