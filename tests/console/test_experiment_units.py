"""The experiment pages' pure parts: the plot, the lift's sentences, the SRM alarm's markup."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from console.app import templates
from console.experiment_view import lift_view, p_text, signed, split_text
from console.rate_chart import rate_chart
from serving._proto.recsys.v1 import experiments_pb2 as pb

START = datetime(2026, 5, 1, tzinfo=UTC)


def points(rates: dict[str, list[float]]) -> list[pb.ReportPoint]:
    out = []
    for arm, values in rates.items():
        for i, r in enumerate(values):
            at = (START + timedelta(hours=i)).isoformat()
            out.append(pb.ReportPoint(at=at, arm=arm, customers=10 * (i + 1), rate=r,
                                      low=max(0.0, r - 0.01), high=r + 0.01))  # fmt: skip
    return out


def test_the_plot_has_a_line_and_a_band_per_arm_and_says_the_last_look() -> None:
    svg = str(rate_chart(points({"champion": [0.1, 0.2], "control": [0.05, 0.15]}),
                         ["champion", "control"]))  # fmt: skip
    assert svg.count("<polyline") == 2 and svg.count("<polygon") == 2
    assert 'class="line arm-champion"' in svg and 'class="band arm-control"' in svg
    assert "at the last look: champion 0.2000 [0.1900, 0.2100]; control 0.1500" in svg
    assert "style=" not in svg  # the CSP allows no inline style


@given(st.lists(st.floats(0, 5), min_size=1, max_size=20))
def test_every_point_is_drawn_inside_the_plot(rates: list[float]) -> None:
    svg = str(rate_chart(points({"champion": rates}), ["champion"]))
    ys = [float(y) for y in re.findall(r'cy="([-\d.]+)"', svg)]
    xs = [float(x) for x in re.findall(r'cx="([-\d.]+)"', svg)]
    assert len(ys) == len(rates)
    assert all(12 - 1e-6 <= y <= 240 - 24 + 1e-6 for y in ys)
    assert all(58 - 1e-6 <= x <= 640 - 8 + 1e-6 for x in xs)


def test_no_points_is_said_in_words() -> None:
    assert "nothing to plot" in str(rate_chart([], ["champion", "control"]))


def test_a_significant_lift_is_said_with_its_direction_and_interval() -> None:
    lift = pb.Lift(absolute=-0.02, ci_low=-0.03, ci_high=-0.01, relative=-0.2,
                   relative_ci_low=-0.3, relative_ci_high=-0.1, p_value=0.0001,
                   sequential_p_value=0.004, sequential_significant=True)  # fmt: skip
    view = lift_view(pb.ArmReport(arm="challenger", lift=lift))
    assert view.verdict.startswith("The challenger sells less than the champion: significant")
    assert view.interval == f"{signed(-0.03)} to {signed(-0.01)}"
    assert view.relative == "\N{MINUS SIGN}20.0%" and view.fixed_p == "< 0.001"


def test_an_undefined_interval_is_not_written_as_zero() -> None:
    lift = pb.Lift(absolute=0.0, p_value=1.0, sequential_p_value=1.0)  # the server left them unset
    view = lift_view(pb.ArmReport(arm="control", lift=lift))
    assert "undefined" in view.interval and view.relative == "undefined"
    assert view.verdict.startswith("No significant difference") and p_text(0.0412) == "0.0412"


def test_the_srm_alarm_is_an_alert_with_the_split_and_the_test() -> None:
    report = pb.ExperimentReport(
        arms=[pb.ArmReport(arm="champion", share=0.5, assigned=710),
              pb.ArmReport(arm="control", share=0.5, assigned=290)],
        srm=pb.SampleRatio(chi2=176.4, p_value=3e-40, flagged=True),
    )  # fmt: skip
    split = split_text(report)
    assert split == "champion 71.0% (configured 50.0%), control 29.0% (configured 50.0%)"
    html = (
        templates()
        .get_template("experiment_srm.html")
        .render(report=report, split=split, srm="chi-square 176.4, p = 3e-40")
    )
    assert 'role="alert"' in html and "Sample ratio mismatch: do not trust this result" in html
    assert split in html
    report.srm.flagged = False
    quiet = templates().get_template("experiment_srm.html").render(report=report, split="", srm="")
    assert 'role="alert"' not in quiet and "no mismatch" in quiet
