"""Nothing RecordEvents accepts can make `train --events-from-store` fail (issue 22, part 3).

Events of every shape a channel may send go through RecordEvents' own conversion and checks
(serving.recommend.events_in); the accepted ones are stored in a real SQLite event store,
exported as training reads them, and joined to a dataset. That join must never raise: the
events it cannot take (new customers, retired products, repeats of the dataset's events, closes
of nothing held) are left out and counted, and every accepted event is either joined or counted.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from recsys.columns import Events
from recsys.data.idmap import IdMap
from recsys.settings import Settings
from recsys.stores.sql_events import open_event_store
from serving.recommend.domain import EventIn
from serving.recommend.events_in import stored_events
from serving.recommend.validation import ValidationError
from tests.conftest import TINY_LAST_EVENT, write_tiny_dataset
from training.store_events import load_with_store

NOW = TINY_LAST_EVENT + timedelta(days=30)
SETTINGS = Settings()
# the serving catalog may differ from the dataset's: a product retired since (p9)
CATALOG = IdMap(["p1", "p2", "p3", "p4", "p5", "p6", "p9"])
_counter = itertools.count()

moments = st.one_of(
    st.none(),  # "now" on arrival
    st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
    ),
    st.datetimes(  # the dataset's own time range, where repeats and closes collide
        min_value=datetime(2024, 1, 1), max_value=datetime(2024, 8, 1), timezones=st.just(UTC)
    ),
    st.sampled_from([datetime(2024, 1, 3, 9, 30, tzinfo=UTC), NOW + timedelta(minutes=4)]),
)
events = st.builds(
    EventIn,
    customer_id=st.sampled_from(["c1", "c2", "c3", "c4", "c5", "NEW-1", "NEW-2"]),
    product_id=st.sampled_from(["p1", "p2", "p3", "p4", "p5", "p6", "p9"]),
    # refused values are rarer than good ones: a refused value refuses its whole call
    type=st.sampled_from([*Events.all, Events.purchase, Events.close, "like"]),
    channel=st.sampled_from(["", "mobile", "branch", "web", "atm", "call_center", "fax"]),
    timestamp=moments,
    amount=st.one_of(
        st.none(),
        st.floats(min_value=0, max_value=1e308),
        st.sampled_from([-1e308, 1e308, -0.01, float("nan"), float("inf")]),
    ),
    event_id=st.one_of(st.just(""), st.sampled_from(["e1", "e2", "e3"])),
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny"))


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(calls=st.lists(st.lists(events, min_size=1, max_size=4), min_size=1, max_size=6))
def test_no_accepted_event_stops_training(
    calls: list[list[EventIn]], dataset: Path, tmp_path: Path
) -> None:
    store = open_event_store(f"sqlite:///{tmp_path / f'e{next(_counter)}.db'}")
    for call in calls:
        try:
            checked = stored_events(
                call, product_map=CATALOG, settings=SETTINGS, limits=SETTINGS.limits, now=NOW
            )
        except ValidationError:
            continue  # refused whole: nothing of it is stored
        store.append(checked)
    accepted = store.count()
    event("accepted events: " + ("none" if not accepted else "some"))
    exported = store.export()
    store.close()
    out = load_with_store(
        dataset,
        extra_events=exported,
        event_types=SETTINGS.event_types,
        channels=list(SETTINGS.channels),
        now=NOW,
    )
    joined = out.data.events.height - 15  # the tiny dataset has 15 events
    assert joined + sum(out.left_out.values()) == accepted
