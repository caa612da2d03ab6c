"""`recsys offers` against a running server: create, list, show, update, status moves, stats."""

# ruff: noqa: F811 - the server fixtures are imported, then taken as arguments

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recsys.columns import Columns as C
from recsys.stores.sql_offers import open_offer_store
from recsys_cli import console as cli_console
from recsys_cli.main import app
from serving._proto.recsys.v1 import recommendation_pb2 as rpb
from tests.serving.conftest import Running, model, offers_running  # noqa: F401 - fixtures
from tests.serving.free_port import free_port
from tests.serving.trained import Trained

runner = CliRunner()
OFFER_ID = re.compile(r"off_[0-9a-f]{12}")
START = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
END = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d")


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables at 200 columns whatever terminal (or none) the test process started with."""
    monkeypatch.setattr(cli_console.console, "width", 200)


@pytest.fixture
def server(offers_running: Running) -> list[str]:
    """The --server option pointing at the running server."""
    return ["--server", f"127.0.0.1:{offers_running.port}"]


def product(model: Trained) -> str:
    """A low-risk product of the serving catalog (most customers may get it)."""
    products = model.loaded.engine.snapshot.products.sort(C.risk_rating, C.product_id)
    return str(products[C.product_id][0])


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["offers", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def create(server: list[str], model: Trained, *extra: str) -> str:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    code, out = invoke(
        "create",
        "--name",
        name,
        "--product",
        product(model),
        "--start",
        START,
        "--end",
        END,
        *extra,
        *server,
    )
    assert code == 0, out
    [offer_id] = set(OFFER_ID.findall(out))
    return offer_id


def test_create_with_pin_and_cap_prints_the_id_and_list_shows_it(
    server: list[str],
    model: Trained,
) -> None:
    offer_id = create(
        server, model, "--pin", "1", "--cap", "2/7d", "--channels", "mobile,web", "--actor", "ann"
    )
    code, out = invoke("list", *server)
    assert code == 0, out
    row = next(line for line in out.splitlines() if offer_id in line)
    assert "pin #1" in row and "2/7d" in row and "active" in row and "mobile,web" in row
    code, out = invoke("show", offer_id, *server)
    assert code == 0, out
    assert "created" in out and "ann" in out and "2/7d" in out


def test_stats_shows_the_counts(
    server: list[str],
    model: Trained,
    offers_running: Running,
) -> None:
    offer_id = create(server, model, "--boost", "1.5")
    offers = open_offer_store(offers_running.database_url)
    try:
        offer = offers.get(offer_id)
        for i in range(4):
            assert offers.reserve(
                offer,
                f"cli-stats-{i}",
                f"{offer_id}-{i}",
                "web",
                datetime.now(UTC),
                timedelta(minutes=5),
            )
    finally:
        offers.close()
    customer = str(model.loaded.engine.snapshot.customer_map.ids[11])
    events = [
        rpb.Event(
            customer_id=customer,
            product_id=offer.product_id,
            type=kind,
            channel="web",
            offer_id=offer_id,
        )
        for kind in ("impression", "impression", "impression", "impression", "click")
    ]
    offers_running.stub.RecordEvents(rpb.RecordEventsRequest(events=events), timeout=10)
    code, out = invoke("stats", offer_id, *server)
    assert code == 0, out
    web = next(line for line in out.splitlines() if "│ web" in line)
    assert re.search(r"│ web\s+│\s+4 │\s+4 │\s+1 │\s+0 │\s+25\.0% │\s+0\.0% │", web), out


def test_update_pause_resume_end_and_the_history(
    server: list[str],
    model: Trained,
) -> None:
    offer_id = create(server, model, "--pin", "2", "--cap", "3/30d", "--draft")
    code, out = invoke(
        "update", offer_id, "--priority", "4", "--cap", "none", "--actor", "bob", *server
    )
    assert code == 0 and "updated offer" in out and "revision 2" in out, out
    for verb, status in (("resume", "active"), ("pause", "paused"), ("end", "ended")):
        code, out = invoke(verb, offer_id, *server)
        assert code == 0 and f": {status}," in out, out
    code, out = invoke("show", offer_id, *server)
    assert code == 0, out
    assert "priority: 0 -> 4" in out and "bob" in out and "status:ended" in out
    code, out = invoke("resume", offer_id, *server)
    assert code == 2 and "FAILED_PRECONDITION" in out


def test_from_file_with_a_customer_csv(
    server: list[str],
    model: Trained,
    tmp_path: Path,
) -> None:
    ids = [str(c) for c in model.loaded.engine.snapshot.customer_map.ids[:3]]
    (tmp_path / "who.csv").write_text("customer_id,score\n" + "".join(f"{c},1\n" for c in ids))
    name = f"yaml-{uuid.uuid4().hex[:8]}"
    (tmp_path / "offer.yaml").write_text(
        f"name: {name}\nproduct: {product(model)}\nstart: {START}\nend: {END}\n"
        "boost: 2\ncustomers_file: who.csv\ncap: 1/1d\ndraft: true\n"
    )
    code, out = invoke(
        "create", "--from-file", str(tmp_path / "offer.yaml"), "--priority", "9", *server
    )
    assert code == 0, out
    code, out = invoke("show", name, *server)
    assert code == 0, out
    assert "3 listed customers" in out and "boost x2" in out and "draft" in out
    assert re.search(r"priority\s+│ 9", out), out


def test_warnings_are_printed(server: list[str], model: Trained) -> None:
    name = f"nobody-{uuid.uuid4().hex[:8]}"
    code, out = invoke(
        "create",
        "--name",
        name,
        "--product",
        product(model),
        "--start",
        START,
        "--end",
        END,
        "--pin",
        "1",
        "--age-min",
        "149",
        *server,
    )
    assert code == 0, out
    assert "warning: target: matches no customer" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--product", "NOPE", "--pin", "1"], "product_id: unknown product 'NOPE'"),
        (["--pin", "1", "--segments", "martians"], "(option --segments)"),
        (["--pin", "1", "--cap", "2/7"], "--cap: expected N/Dd"),
        (["--pin", "1", "--boost", "2"], "--boost/--pin: give a boost factor or a pin"),
        (["--pin", "1", "--volume-cap", "0"], "volume_cap: must be positive"),
        (["--pin", "1", "--channels", "telex"], "channels: unknown channel(s) 'telex'"),
    ],
)
def test_bad_input_exits_2_naming_the_field(
    server: list[str],
    model: Trained,
    args: list[str],
    words: str,
) -> None:
    base = ["create", "--name", f"bad-{uuid.uuid4().hex[:8]}", "--start", START, "--end", END]
    if "--product" not in args:
        base += ["--product", product(model)]
    code, out = invoke(*base, *args, *server)
    assert code == 2, out
    assert words in out


def test_end_before_start_names_the_option(server: list[str], model: Trained) -> None:
    code, out = invoke(
        "create",
        "--name",
        "early",
        "--product",
        product(model),
        "--pin",
        "1",
        "--start",
        END,
        "--end",
        START,
        *server,
    )
    assert code == 2 and "end_time: " in out and "(option --end)" in out, out
    code, out = invoke(
        "create",
        "--name",
        "when",
        "--product",
        product(model),
        "--pin",
        "1",
        "--start",
        "next tuesday",
        "--end",
        END,
        *server,
    )
    assert code == 2 and "--start: expected an ISO date" in out, out


def test_every_field_problem_is_printed_with_its_option(server: list[str], model: Trained) -> None:
    name = f"all-{uuid.uuid4().hex[:8]}"
    # the end is before the start, a channel and the segment are unknown
    bad = ["--start", END, "--end", START, "--channels", "mobile,telex", "--segments", "martians"]
    code, out = invoke(
        "create", "--name", name, "--product", product(model), "--pin", "1", *bad, *server
    )
    assert code == 2 and "INVALID_ARGUMENT: 3 problems" in out, out
    for field, option in (("end_time", "--end"), ("channels", "--channels")):
        assert re.search(rf"{field}: .*\(option {option}\)", out), out
    assert re.search(
        r"target.segments: unknown segment\(s\) 'martians'.*\(option --segments\)", out
    )


def test_every_bad_value_is_named_before_anything_is_sent() -> None:
    no_server = ["--server", f"127.0.0.1:{free_port()}"]
    args = ["create", "--name", "x", "--start", "soon", "--cap", "2/7", "--volume-event", "often"]
    code, out = invoke(*args, "--pin", "1", *no_server)
    assert code == 2, out
    named = ("--start: expected an ISO date", "--cap: expected N/Dd", "--volume-event: must be")
    for words in named:
        assert words in out, out
    assert "UNAVAILABLE" not in out


def test_no_server_is_exit_1_with_a_hint() -> None:
    code, out = invoke("list", "--server", f"127.0.0.1:{free_port()}")
    assert code == 1 and "UNAVAILABLE" in out and "recsys serve" in out, out
