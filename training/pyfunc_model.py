"""The MLflow pyfunc, logged as code (no pickle): load the bundle once, delegate to recsys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import polars as pl

from recsys.engine.engine import Engine

BUNDLE_ARTIFACT = "bundle"


class BankRecsysModel(mlflow.pyfunc.PythonModel):
    """predict(DataFrame[customer_id, holdings?], params={k, channel}) -> one row per suggestion."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        """Load model arrays, catalog and customer snapshot from the bundle artifact, once."""
        self.engine = Engine.load(Path(context.artifacts[BUNDLE_ARTIFACT]))

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Top-k suggestions per input customer, with rules applied and a reason per row."""
        params = params or {}
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        if "customer_id" not in frame.columns:
            raise ValueError(f"input needs a customer_id column; got {list(frame.columns)}")
        missing = frame["customer_id"].isna().to_numpy().nonzero()[0]
        if missing.size:
            # astype(str) would turn a null into the customer "None" (or "nan")
            raise ValueError(f"customer_id is null in input rows {missing[:5].tolist()}")
        ids = frame["customer_id"].astype(str).tolist()
        holdings = None
        if "holdings" in frame.columns:
            holdings = [None if _missing(h) else [str(p) for p in h] for h in frame["holdings"]]
        channel = params.get("channel") or None
        out: pl.DataFrame = self.engine.recommend_frame(
            ids, k=int(params.get("k", 5)), holdings=holdings, channel=channel
        )
        return out.to_pandas()


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


mlflow.models.set_model(BankRecsysModel())
