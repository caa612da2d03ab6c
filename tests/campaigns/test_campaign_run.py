"""An email campaign over a generated bank, on a real SQLite store: checked from the file and
the data (nobody without consent, unsuitable, or over a limit), the summary, the decision log,
a second campaign the same week, events attributed to contacts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from batch.campaign import CampaignError, Stores, run_campaign
from batch.files import read_contacts
from batch.scoring import Campaign
from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.engine.engine import Engine
from recsys.settings import Settings
from recsys.stores.base import StoredEvent
from recsys.stores.sql_contacts import ContactItem, Message, open_contact_store
from recsys.stores.sql_decisions import open_decision_store
from recsys.stores.sql_events import open_event_store
from recsys.stores.sql_offers import open_offer_store
from tests.engine.rules_oracle import allowed_pairs


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    url = f"sqlite:///{tmp_path / 'recsys.db'}"
    made = Stores(
        open_contact_store(url),
        open_event_store(url),
        open_offer_store(url),
        open_decision_store(url),
    )
    yield made
    for s in (made.contacts, made.events, made.offers, made.decisions):
        s.close()  # type: ignore[union-attr]


def _campaign(name: str, at: datetime, run_id: str, channel: str = "email") -> Campaign:
    return Campaign(name, run_id, channel, 1, at)


def test_email_campaign_obeys_consent_rules_and_the_policy(
    engine: Engine,
    bank: BankData,
    held: pl.DataFrame,
    settings: Settings,
    as_of: datetime,
    stores: Stores,
    tmp_path: Path,
) -> None:
    at = as_of + timedelta(hours=1)
    ids = engine.snapshot.customer_map.ids.tolist()
    consenting = set(
        bank.customers.filter(pl.col(C.marketing_consent).fill_null(False))[C.customer_id]
    )
    # emailed two days ago by another campaign: the weekly email limit blocks them now
    earlier = [c for c in ids if c in consenting][:40]
    stores.contacts.reserve(
        campaign="autumn",
        run_id="old",
        channel="email",
        messages=[Message(c, f"old-{c}", (ContactItem("P-none", 1),)) for c in earlier],
        policy=settings.contact_policy,
        now=at - timedelta(days=2),
    )
    # a rejection suppresses that product for that customer
    rejecter = [c for c in ids if c in consenting][50]
    first = run_campaign(
        engine,
        _campaign("dry", at, "probe"),
        settings,
        Stores(open_contact_store(f"sqlite:///{tmp_path / 'probe.db'}")),
        tmp_path / "probe.parquet",
        model_version="1",
    )
    probe = read_contacts(first.path)
    rejected = probe.filter(pl.col(C.customer_id) == rejecter)[C.product_id][0]
    stores.events.append([StoredEvent(rejecter, rejected, "reject", at - timedelta(days=1))])

    result = run_campaign(
        engine,
        _campaign("spring", at, "r1"),
        settings,
        stores,
        tmp_path / "spring.parquet",
        model_version="7",
    )
    out = read_contacts(tmp_path / "spring.parquet")
    assert out.height == result.rows > 100
    assert out.columns[:4] == ["campaign", "channel", "request_id", C.customer_id]
    assert out[C.customer_id].is_duplicated().sum() == 0  # k=1: one product a contact
    assert set(out[C.customer_id]) <= consenting, "a customer without consent was contacted"
    assert not set(out[C.customer_id]) & set(earlier), "a customer over the email limit"
    assert rejected not in out.filter(pl.col(C.customer_id) == rejecter)[C.product_id].to_list()
    allowed = allowed_pairs(
        engine.snapshot.customers.select(C.customer_id, C.risk_tolerance, C.birth_year),
        engine.snapshot.products,
        held,
        at=at.date(),
    )
    assert out.join(allowed, on=[C.customer_id, C.product_id], how="anti").is_empty()
    assert (
        out["reason_text"].str.len_chars().min() > 0 and out["offer_id"].null_count() == out.height
    )

    rows = dict(result.tally.rows())
    assert rows["targeted"] == len(ids) and rows["reached"] == out.height
    assert rows["blocked by rule: consent"] == len(ids) - len(consenting & set(ids))
    assert rows["contact policy: channel_limit"] == len(earlier)
    assert rows["blocked by rule: policy"] >= len(earlier)

    # the decision log answers for the contact, under its request id
    customer = out[C.customer_id][0]
    [logged] = [d for d in stores.decisions.for_customer(customer) if d.channel == "email"]
    assert logged.request_id == out["request_id"][0] and logged.model_version == "7"
    assert logged.items[0]["product_id"] == out[C.product_id][0]

    # a second email campaign the same week reaches nobody the first one reached
    again = run_campaign(
        engine,
        _campaign("summer", at + timedelta(days=3), "r2"),
        settings,
        stores,
        tmp_path / "summer.csv",
        model_version="7",
    )
    second = read_contacts(again.path)
    assert not set(second[C.customer_id]) & set(out[C.customer_id])
    # events reported against the contacts' request ids are the campaign's
    hit = out.head(3)
    stores.events.append(
        [
            StoredEvent(c, p, kind, at + timedelta(hours=5), "email", None, r)
            for c, p, r in hit.select(C.customer_id, C.product_id, "request_id").iter_rows()
            for kind in ("click", "purchase")
        ]
    )
    [stats] = stores.contacts.stats("spring")
    assert (stats.contacted, stats.clicked, stats.converted) == (out.height, 3, 3)


def test_a_channel_that_is_not_outbound_is_refused(
    engine: Engine,
    settings: Settings,
    as_of: datetime,
    stores: Stores,
    tmp_path: Path,
) -> None:
    with pytest.raises(CampaignError, match="not outbound"):
        run_campaign(
            engine,
            _campaign("x", as_of, "r", channel="mobile"),
            settings,
            stores,
            tmp_path / "x.parquet",
            model_version="1",
        )
