"""The console's pure parts: sessions (signed ids, idle timeout, rotation), the sign-in limit,
the offer form's reading and its problems by field, reach sentences and charts."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from console.charts import Series, bar_chart, daily_series
from console.formatting import reach_text
from console.forms import changed_paths, form_field, form_of, offer_message, read_form
from console.sessions import SessionStore, User, same_token
from console.throttle import SignInLimit
from serving._proto.recsys.v1 import offers_pb2 as pb


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_ends_after_its_idle_time_and_says_so_if_signed_in() -> None:
    clock = Clock()
    store = SessionStore(idle_s=60, max_sessions=10, clock=clock)
    session = store.sign_in(store.new(), User("rk_x_y", "x", "ann", "marketing"))
    cookie = store.cookie_value(session)
    clock.now += 59
    assert store.find(cookie) == (session, False)  # seen: the idle time starts again
    clock.now += 61
    assert store.find(cookie) == (None, True)
    assert store.find(cookie) == (None, False)  # gone


def test_signing_in_gives_a_new_id_and_token() -> None:
    store = SessionStore(idle_s=60, max_sessions=10)
    anonymous = store.new()
    old_cookie = store.cookie_value(anonymous)
    signed = store.sign_in(anonymous, User("k", "i", "n", "admin"))
    assert signed.id != anonymous.id and signed.csrf != anonymous.csrf
    assert store.find(old_cookie) == (None, False)  # no fixation: the old id is dead


@given(st.text())
def test_a_cookie_not_signed_by_the_store_finds_nothing(cookie: str) -> None:
    store = SessionStore(idle_s=60, max_sessions=10)
    session = store.new()
    assert store.find(cookie)[0] is None or cookie == store.cookie_value(session)


def test_a_forged_signature_finds_nothing() -> None:
    store = SessionStore(idle_s=60, max_sessions=10)
    session = store.new()
    sid = store.cookie_value(session).rpartition(".")[0]
    assert store.find(f"{sid}.forged")[0] is None
    assert store.find("0.\x80")[0] is None  # regression: non-ASCII signatures raised TypeError
    assert SessionStore(60, 10).find(store.cookie_value(session))[0] is None  # other secret


def test_the_longest_idle_session_goes_when_full() -> None:
    clock = Clock()
    store = SessionStore(idle_s=600, max_sessions=2, clock=clock)
    first, second = store.new(), store.new()
    clock.now += 1
    store.find(store.cookie_value(first))  # first seen again: second is now the oldest
    store.new()
    assert len(store) == 2
    assert store.find(store.cookie_value(second))[0] is None
    assert store.find(store.cookie_value(first))[0] is first


def test_csrf_tokens_compare_exactly() -> None:
    assert same_token("abc", "abc")
    assert not same_token("abd", "abc") and not same_token(None, "abc") and not same_token("", "")


def test_failed_sign_ins_are_limited_per_address_and_forgotten_after_the_window() -> None:
    clock = Clock()
    limit = SignInLimit(failures=3, window_s=100, clock=clock)
    for _ in range(3):
        assert limit.wait_s("10.0.0.1") == 0
        limit.failed("10.0.0.1")
        clock.now += 10
    assert limit.wait_s("10.0.0.1") == 100 - 30  # from the oldest of the three
    assert limit.wait_s("10.0.0.2") == 0  # another address is not held back
    clock.now += 71
    assert limit.wait_s("10.0.0.1") == 0


def test_a_good_sign_in_clears_the_failures() -> None:
    limit = SignInLimit(failures=1, window_s=100, clock=Clock())
    limit.failed("a")
    assert limit.wait_s("a") > 0
    limit.succeeded("a")
    assert limit.wait_s("a") == 0


def form(**values: object):  # noqa: ANN201 - an OfferForm
    lists = {k: v for k, v in values.items() if isinstance(v, list)}
    text = {k: v for k, v in values.items() if not isinstance(v, list)}
    return read_form(text, lambda name: lists.get(name, []))


def test_the_form_reads_every_field_into_the_message() -> None:
    f = form(
        name="spring", product_id="P1", status="active", start_time="2026-03-01T09:00",
        end_time="2026-04-01T00:00", action="boost", boost="1.5", max_share="0.5",
        cap_impressions="2", cap_days="7", volume_cap="100", volume_event="purchase",
        priority="3", age_min="18", age_max="65", min_risk_tolerance="2",
        customer_ids="C1, C2\nC3", channels=["mobile", "web"], segments=["mass"],
        income_bands=["high"], regions=["north"],
    )  # fmt: skip
    m = offer_message(f)
    assert not f.problems
    assert (m.name, m.product_id, m.status) == ("spring", "P1", pb.OFFER_STATUS_ACTIVE)
    assert m.start_time.ToDatetime(tzinfo=UTC) == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert (m.boost, m.max_share, m.volume_cap, m.priority) == (1.5, 0.5, 100, 3)
    assert (m.cap.impressions, m.cap.days, m.volume_event) == (2, 7, pb.VOLUME_EVENT_PURCHASE)
    t = m.target
    assert (t.age_min, t.age_max, t.min_risk_tolerance) == (18, 65, 2)
    assert list(t.customer_ids) == ["C1", "C2", "C3"] and t.has_customer_list
    assert list(m.channels) == ["mobile", "web"] and list(t.segments) == ["mass"]


def test_unreadable_text_is_a_problem_of_its_field_and_the_server_adds_the_rest() -> None:
    f = form(name="x", action="pin", pin="first", age_min="ten", cap_impressions="2")
    m = offer_message(f)
    assert set(f.problems) == {"action", "age_min", "cap"}
    assert not m.HasField("pin") and not m.target.HasField("age_min")
    f.add_server_lines(["end_time: is required", "target.age_min: no", "pin: a pin needs 1"])
    assert f.problems["end_time"] == ["is required"]
    assert len(f.problems["age_min"]) == 1  # the form's own reading says it better
    assert f.problem_count == 4
    f.add_server_lines(["something without a field"])
    assert f.problems["other"] == ["something without a field"]


def test_server_fields_map_to_form_fields() -> None:
    assert form_field("target.age_max") == "age_max"
    assert (
        form_field("boost") == "action" and form_field("target.has_customer_list") == "customer_ids"
    )
    assert form_field("max_share") == "max_share"


def stored() -> pb.Offer:
    offer = pb.Offer(id="off_1", name="a", product_id="P1", channels=["web"], pin=2, priority=1)
    offer.start_time.FromDatetime(datetime(2026, 1, 1, tzinfo=UTC))
    offer.end_time.FromDatetime(datetime(2026, 2, 1, tzinfo=UTC))
    offer.target.segments.extend(["mass"])
    offer.target.age_min = 30
    return offer


def test_an_unchanged_edit_form_changes_nothing_and_each_change_is_one_path() -> None:
    before = stored()
    f = form_of(before)
    assert changed_paths(before, offer_message(f), keep_customer_list=True) == []
    f.values.update(pin="3", age_min="", channels=["web", "atm"])
    paths = changed_paths(before, offer_message(f), keep_customer_list=True)
    assert paths == ["channels", "action", "target.age_min"]
    assert "target.customer_ids" in changed_paths(
        before, offer_message(f), keep_customer_list=False
    )


def test_reach_sentences() -> None:
    reach = pb.OfferReach(
        customers=20000,
        targeted=9456,
        receivable=5390,
        blocked={"consent": 2865, "held": 1731, "age": 9},
    )
    assert reach_text(reach) == (
        "9,456 targeted; 4,066 cannot receive it: consent 2,865, held 1,731, age 9; 5,390 can"
    )
    assert reach_text(pb.OfferReach(customers=5, targeted=2, receivable=2)) == (
        "2 targeted; all 2 can receive it"
    )
    assert "matches none of the 5" in reach_text(pb.OfferReach(customers=5))


def test_daily_series_fill_the_gaps_and_charts_draw_a_bar_a_day() -> None:
    d1, d3 = date(2026, 1, 1), date(2026, 1, 3)
    [served] = daily_series([(d1, {"served": 4}), (d3, {"served": 1})], ["served"])
    assert served.values == (4, 0, 1) and served.days[1] == date(2026, 1, 2)
    svg = str(bar_chart(served))
    assert svg.count("<rect") == 3 and 'role="img"' in svg and "2026-01-01: 4 served" in svg
    assert "No clicks yet" in str(bar_chart(Series("clicks", (), ())))


def test_chart_labels_are_escaped() -> None:
    svg = str(bar_chart(Series("<b>", (date(2026, 1, 1),), (1,))))
    assert "<b>" not in svg and "&lt;b&gt;" in svg
