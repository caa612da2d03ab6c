"""Load a canonical dataset folder strictly: typed frames, or an error listing every problem."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from pathlib import Path

from recsys.columns import Events
from recsys.data.dataset import BankData
from recsys.data.problems import DataValidationError
from recsys.data.validate import validate_dataset


def load_dataset(
    path: str | Path,
    *,
    now: datetime | None = None,
    event_types: Collection[str] = Events.all,
    channels: Collection[str] | None = None,
) -> BankData:
    """The validated dataset in canonical dtypes; raises DataValidationError with all problems."""
    data, problems = validate_dataset(path, now=now, event_types=event_types, channels=channels)
    if problems or data is None:
        raise DataValidationError(problems=problems)
    return data
