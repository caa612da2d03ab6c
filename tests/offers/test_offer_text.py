"""Offer text never carries control characters or markup; the CLI escapes what it prints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from recsys.offers.model import Action, Offer, OfferProblem, Target
from recsys_cli import offers_print
from serving._proto.recsys.v1 import offers_pb2 as pb

NOW = datetime(2024, 7, 1, tzinfo=UTC)
HOSTILE = "x\x1b[2J\x00"


def offer(**changes: object) -> Offer:
    base: dict[str, object] = {
        "name": "spring",
        "product_id": "P1",
        "start_at": NOW,
        "end_at": NOW + timedelta(days=3),
        "action": Action.pin,
        "pin": 1,
    }
    return Offer(**(base | changes))  # type: ignore[arg-type]


def fields_refused(**changes: object) -> set[str]:
    with pytest.raises(OfferProblem) as info:
        offer(**changes)
    return {p.field for p in info.value.each}


def test_control_characters_are_refused_in_every_text() -> None:
    assert fields_refused(name=HOSTILE) == {"name"}
    assert fields_refused(product_id="P\x001") == {"product"}
    assert fields_refused(channels=("mobile\x07",)) == {"channels"}
    assert fields_refused(target=Target(regions=("north\x1b[0m",))) == {"regions"}
    assert fields_refused(name=HOSTILE, target=Target(segments=("a\x85",))) == {"name", "segments"}


def test_markup_is_refused_in_the_name_customers_read() -> None:
    assert fields_refused(name="<script>alert(1)</script>") == {"name"}
    assert offer(name="Save 10% & more").name == "Save 10% & more"


def test_the_cli_prints_control_characters_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows written before the check (or by another writer) reach no terminal raw."""
    out = Console(record=True, width=200, force_terminal=False)
    monkeypatch.setattr(offers_print, "console", out)
    offers_print.print_offers(
        [pb.Offer(id="off_1", name=HOSTILE, product_id="P\x1b1", status=pb.OFFER_STATUS_DRAFT)]
    )
    text = out.export_text()
    assert "\x1b" not in text and "\x00" not in text
    assert "x\\x1b[2J\\x00" in text and "P\\x1b1" in text
