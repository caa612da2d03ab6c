"""The event contract shared by the data loader, RecordEvents and `train --events-from-store`.

One definition (checks_values.event_checks) decides what an event may be, so the server never
accepts an event that training would reject. Events that come in live (RecordEvents) may be a
little ahead of the server's clock, since a channel device's clock drifts: they are held to
`now + MAX_CLOCK_SKEW`, and so is training when it reads them back from the store.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Final

import polars as pl

from recsys.data.checks_rows import run_row_checks
from recsys.data.checks_values import event_checks
from recsys.data.problems import Problem

# Channel devices' clocks drift; a little skew is normal, an event hours ahead is a bug.
MAX_CLOCK_SKEW: Final = timedelta(minutes=5)


def live_event_problems(
    events: pl.DataFrame,
    source: str,
    *,
    now: datetime,
    event_types: Collection[str],
    channels: Collection[str] | None,
) -> list[Problem]:
    """Every contract problem of typed events that came in live (rows 1-based, as files')."""
    return run_row_checks(events, source, event_checks(now + MAX_CLOCK_SKEW, event_types, channels))
