"""The soak bench's verdicts (bench/soak_report.py) on calls built by hand: no server, no load."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from soak_load import RECOMMEND, RECORD, Calls  # noqa: E402
from soak_report import Figures, report  # noqa: E402
from soak_watch import Samples  # noqa: E402

SECONDS = 120.0
PROMOTE, OFFER_ON, OFFER_OFF = 40.0, 60.0, 80.0
A, B = 1, 2
CANCELLED = 1  # grpc.StatusCode.CANCELLED's number


def _calls(rows: list[tuple], acked: list[str] | None = None) -> Calls:
    """Calls from (due, sent, latency, kind, status, version, offer_items) rows."""
    cols = np.array(rows, dtype=float).reshape(-1, 7)
    return Calls(
        due=cols[:, 0],
        sent=cols[:, 1],
        latency=cols[:, 2],
        kind=cols[:, 3].astype(np.int8),
        status=cols[:, 4].astype(np.int16),
        version=cols[:, 5].astype(np.int32),
        offer_items=cols[:, 6].astype(np.int16),
        acked=acked or [],
        sent_events=len(acked or []),
        client_cpu_s=1.0,
    )


def _healthy_soak() -> list[tuple]:
    """One Recommend per second on the right version (offer while active) + a RecordEvents."""
    rows = []
    for t in np.arange(0.0, SECONDS, 1.0):
        version = A if t < PROMOTE + 5 else B
        offers = 1 if OFFER_ON + 2 <= t < OFFER_OFF else 0
        rows.append((t, t, 0.005, RECOMMEND, 0, version, offers))
        rows.append((t + 0.5, t + 0.5, 0.006, RECORD, 0, -1, -1))
    return rows


def _figures(soak_rows: list[tuple], *, rss_growth: float = 0.01, stored_extra=()) -> Figures:
    acked = [f"run-s0-{i}-0" for i in range(10)]
    unloaded = _calls([(t, t, 0.004, RECOMMEND, 0, A, 0) for t in range(20)])
    fig = Figures(run_id="run", version_a=A, version_b=B, seconds=SECONDS, workers=2,
                  clients=2, share=0.7)  # fmt: skip
    fig.unloaded, fig.peak_calls = unloaded, unloaded
    fig.soak = _calls(soak_rows, acked)
    fig.peak, fig.rate = 100.0, 70.0
    fig.marks = {"promote": PROMOTE, "offer_on": OFFER_ON, "offer_paused": OFFER_OFF}
    t = np.arange(0.0, SECONDS + 1, 2.0)
    rss = np.where(t < SECONDS / 2, 1000.0, 1000.0 * (1 + rss_growth)) * 2**20
    fig.samples = Samples(t=t.tolist(), rss=rss.astype(int).tolist(),
                          per_process=[[0]] * len(t), cpu=(t * 0.1).tolist(),
                          load1=[1.0] * len(t))  # fmt: skip
    fig.versions_before, fig.versions_after = ["1", "1"], ["2", "2"]
    fig.stored_ids = [*acked, *stored_extra]
    return fig


def test_a_healthy_run_passes_every_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert report(_figures(_healthy_soak()))
    assert "MISS" not in capsys.readouterr().out


def test_a_failed_call_misses(capsys: pytest.CaptureFixture[str]) -> None:
    rows = _healthy_soak()
    rows[10] = (*rows[10][:4], CANCELLED, -1, -1)
    assert not report(_figures(rows))
    assert "CANCELLED x1" in capsys.readouterr().out


def test_an_acknowledged_event_missing_from_the_store_misses() -> None:
    fig = _figures(_healthy_soak())
    fig.stored_ids = fig.stored_ids[1:]
    assert not report(fig)


def test_an_event_stored_twice_misses() -> None:
    fig = _figures(_healthy_soak(), stored_extra=["run-s0-3-0"])
    assert not report(fig)


def test_an_old_version_answer_sent_well_after_the_promotion_misses() -> None:
    rows = _healthy_soak()
    late = PROMOTE + 31
    rows.append((late, late, 0.005, RECOMMEND, 0, A, 0))
    assert not report(_figures(rows))


def test_offer_items_are_placed_by_send_time_not_due_time() -> None:
    # due before the offer started, sent late (the client ran behind) and answered after it
    rows = _healthy_soak()
    rows.append((OFFER_ON - 5, OFFER_ON + 1, 6.5, RECOMMEND, 0, B, 1))
    assert report(_figures(rows))


def test_an_old_version_answer_due_before_but_sent_well_after_the_promotion_misses() -> None:
    rows = _healthy_soak()
    rows.append((PROMOTE - 10, PROMOTE + 35, 45.01, RECOMMEND, 0, A, 0))
    assert not report(_figures(rows))


def test_an_offer_item_after_the_pause_misses() -> None:
    rows = _healthy_soak()
    rows.append((OFFER_OFF + 2, OFFER_OFF + 2, 0.005, RECOMMEND, 0, B, 1))
    assert not report(_figures(rows))


def test_no_offer_item_while_active_misses() -> None:
    rows = [(*r[:6], 0 if r[3] == RECOMMEND else -1) for r in _healthy_soak()]
    assert not report(_figures(rows))


def test_rss_growth_of_ten_percent_misses() -> None:
    assert report(_figures(_healthy_soak(), rss_growth=0.09))
    assert not report(_figures(_healthy_soak(), rss_growth=0.11))


def test_soak_p99_over_twice_the_unloaded_misses() -> None:
    rows = [(*r[:2], 0.02, *r[3:]) for r in _healthy_soak()]  # 20 ms vs 4 ms unloaded
    assert not report(_figures(rows))
