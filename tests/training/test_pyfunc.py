"""The registered pyfunc, loaded by alias as MLflow tooling loads it, predicts within the rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import mlflow
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from mlflow.exceptions import MlflowException

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.dataset import BankData
from recsys.data.holdings import holdings_at
from recsys.data.load import load_dataset
from recsys.engine.claims import PRODUCT_TEXTS, Claim
from recsys.engine.facts import DEFAULT_RECENT_DAYS
from recsys.settings import Settings
from tests.engine.rules_oracle import OUTPUT_COLUMNS, REASON, allowed_pairs, check_suggestions
from tests.training.trained import CHAMPION_FAMILY, champion_registry, generated_dataset
from training.pipeline import TrainOutcome
from training.registry import Registry

CHAMPION_URI = "models:/bank-recsys@champion"
HELD = ["CA_SALARY", "CC_CLASSIC"]  # non-repeatable products an unknown customer says they hold


@pytest.fixture
def champion(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, TrainOutcome]:
    """The shared registry (MLflow pointed at it again for this test)."""
    return champion_registry(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def bank(tmp_path_factory: pytest.TempPathFactory) -> BankData:
    """The generated dataset the champion was trained on."""
    return load_dataset(generated_dataset(tmp_path_factory.getbasetemp()))


@pytest.fixture(scope="session")
def model(tmp_path_factory: pytest.TempPathFactory) -> mlflow.pyfunc.PyFuncModel:
    """The champion, loaded once through the registry alias."""
    champion_registry(tmp_path_factory.getbasetemp())
    return mlflow.pyfunc.load_model(CHAMPION_URI)


def predict(model: mlflow.pyfunc.PyFuncModel, frame: pd.DataFrame, **params) -> pl.DataFrame:
    out = model.predict(frame, params=params or None)
    assert isinstance(out, pd.DataFrame)
    return pl.from_pandas(out)


def profiles(bank: BankData, ids: list[str]) -> pl.DataFrame:
    wanted = pl.DataFrame({C.customer_id: ids}, schema={C.customer_id: pl.String})
    known = bank.customers.select(C.customer_id, C.risk_tolerance, C.birth_year)
    return wanted.join(known, on=C.customer_id, how="left", maintain_order="left")


def today() -> datetime:
    return datetime.now(UTC).date()


def test_every_customer_of_the_dataset_gets_ranked_suggestions_within_the_rules(
    model: mlflow.pyfunc.PyFuncModel, bank: BankData
) -> None:
    ids = bank.customers[C.customer_id].to_list()
    out = predict(model, pd.DataFrame({C.customer_id: ids}), k=5)
    assert out.columns == OUTPUT_COLUMNS
    assert out.schema["rank"] == pl.Int64 and out.schema["score"] == pl.Float64
    held = holdings_at(bank.events, bank.products, None)
    allowed = allowed_pairs(profiles(bank, ids), bank.products, held, at=today())
    # exactly min(5, #allowed) rows for every customer: nobody with an allowed product is missed
    check_suggestions(out, allowed, 5)
    assert out[C.customer_id].n_unique() > 0.9 * len(ids)
    assert out[REASON].str.len_chars().min() > 0


def test_unknown_customer_with_holdings_is_scored_and_never_offered_what_they_hold(
    model: mlflow.pyfunc.PyFuncModel, bank: BankData
) -> None:
    frame = pd.DataFrame({C.customer_id: ["new-1", "new-2"], "holdings": [HELD, None]})
    out = predict(model, frame, k=5)
    mine = out.filter(pl.col(C.customer_id) == "new-1")
    assert mine.height == 5
    assert not set(mine[C.product_id]) & set(HELD)
    names = bank.products.filter(pl.col(C.product_id).is_in(HELD))[C.name].to_list()
    # the model explains with what the customer holds; popularity could not
    assert mine[REASON].str.contains("|".join(names)).all()
    held = pl.DataFrame({C.customer_id: ["new-1"] * 2, C.product_id: HELD})
    allowed = allowed_pairs(profiles(bank, ["new-1", "new-2"]), bank.products, held, at=today())
    check_suggestions(out, allowed, 5)


def test_unknown_customer_without_holdings_gets_popularity(model: mlflow.pyfunc.PyFuncModel):
    out = predict(model, pd.DataFrame({C.customer_id: ["stranger", "another"]}), k=3)
    assert out.height == 6
    assert out[REASON].str.starts_with("popular").all()
    first, second = (out.filter(pl.col(C.customer_id) == c) for c in ("stranger", "another"))
    assert first[C.product_id].to_list() == second[C.product_id].to_list()


def test_k_and_channel_params(model: mlflow.pyfunc.PyFuncModel, bank: BankData) -> None:
    ids = bank.customers[C.customer_id].head(60).to_list()
    frame = pd.DataFrame({C.customer_id: ids})
    default = predict(model, frame)
    assert default.group_by(C.customer_id).len()["len"].max() == 5  # signature default k
    atm = predict(model, frame, k=3, channel="atm")
    assert atm["rank"].max() == 3
    excluded = set(Settings(mlflow_tracking_uri=None).channels["atm"].excluded_categories)
    categories = atm.join(bank.products, on=C.product_id)[C.category]
    assert not set(categories) & excluded
    held = holdings_at(bank.events, bank.products, None)
    allowed = allowed_pairs(
        profiles(bank, ids),
        bank.products,
        held,
        at=today(),
        channel="atm",
        excluded_categories=excluded,
    )
    check_suggestions(atm, allowed, 3)


def test_bad_requests_are_refused(model: mlflow.pyfunc.PyFuncModel) -> None:
    with pytest.raises(MlflowException, match="customer_id"):
        model.predict(pd.DataFrame({"client": ["x"]}))
    with pytest.raises(ValueError, match="unknown channel 'kiosk'"):
        model.predict(pd.DataFrame({C.customer_id: ["x"]}), params={"channel": "kiosk"})
    with pytest.raises(ValueError, match="unknown product ids \\['NOPE'\\]"):
        model.predict(pd.DataFrame({C.customer_id: ["x"], "holdings": [["NOPE"]]}))


def test_null_customer_id_is_refused_not_read_as_the_string_none(
    model: mlflow.pyfunc.PyFuncModel,
) -> None:
    python_model = model.unwrap_python_model()
    with pytest.raises(ValueError, match="customer_id is null in input rows \\[1\\]"):
        python_model.predict(None, pd.DataFrame({C.customer_id: ["x", None]}))


def test_registered_version_carries_its_lineage(
    champion: tuple[Settings, TrainOutcome], model: mlflow.pyfunc.PyFuncModel
) -> None:
    settings, outcome = champion
    [version] = Registry(settings.registered_model, settings.champion_alias).versions()
    assert version.is_champion and version.version == outcome.version
    assert version.family == CHAMPION_FAMILY and version.run_id == outcome.run_id
    assert version.metrics["ndcg_at_5"] == pytest.approx(outcome.metrics["ndcg_at_5"])
    manifest = model.unwrap_python_model().engine.manifest
    assert manifest["run_id"] == outcome.run_id
    assert manifest["data_fingerprint"] == version.tags["data_fingerprint"]
    requirements = Path(mlflow.pyfunc.get_model_dependencies(CHAMPION_URI)).read_text()
    for library in ("polars", "implicit", "scipy", "mlflow"):
        assert f"{library}==" in requirements


@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_reason_column_claim_is_true_of_the_customer(
    model: mlflow.pyfunc.PyFuncModel, bank: BankData, data: st.DataObject
) -> None:
    engine = model.unwrap_python_model().engine
    known = bank.customers[C.customer_id].head(300).to_list()
    products = bank.products[C.product_id].to_list()
    customers = st.one_of(st.sampled_from(known), st.just("new-1"))
    ids = data.draw(st.lists(customers, min_size=1, max_size=6, unique=True))
    given_holdings = data.draw(
        st.lists(st.none() | st.lists(st.sampled_from(products), max_size=3), min_size=len(ids),
                 max_size=len(ids))
    )
    channel = data.draw(st.sampled_from(sorted(Settings(mlflow_tracking_uri=None).channels)))
    before = datetime.now(UTC)
    out = predict(
        model, pd.DataFrame({C.customer_id: ids, "holdings": given_holdings}), k=5, channel=channel
    )
    events = bank.events.filter(pl.col(C.timestamp) <= engine.snapshot.as_of)
    held = holdings_at(events, bank.products, None).group_by(C.customer_id).agg(C.product_id)
    held_of = {c: set(p) for c, p in held.iter_rows()}
    since = before - timedelta(days=DEFAULT_RECENT_DAYS)
    kind, when = pl.col(C.event), pl.col(C.timestamp)
    bought = events.filter((kind == Events.purchase) & (when >= since))
    looked = events.filter(kind.is_in([Events.view, Events.click]))
    truth_of = {
        Claim.recent: lambda c: set(bought.filter(pl.col(C.customer_id) == c)[C.product_id]),
        Claim.looked: lambda c: set(looked.filter(pl.col(C.customer_id) == c)[C.product_id]),
    }
    texts: dict[str, tuple[str, set[str]]] = {}
    for pid, name in bank.products.select(C.product_id, C.name).iter_rows():
        for claim, template in PRODUCT_TEXTS.items():
            texts.setdefault(template.format(name), (claim, set()))[1].add(pid)
    holdings_of = dict(zip(ids, given_holdings, strict=True))
    for customer, product, reason in out.select(C.customer_id, C.product_id, REASON).iter_rows():
        if reason not in texts:
            assert reason.startswith("popular"), reason
            continue
        claim, cited = texts[reason]
        if claim == Claim.hold:
            given_held = holdings_of[customer]
            truth = held_of.get(customer, set()) if given_held is None else set(given_held)
        else:
            truth = truth_of[claim](customer)
        assert cited & truth - {product}, f"{customer} / {product}: {reason!r} is not true"
