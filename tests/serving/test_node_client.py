"""A Node client built from protos/ alone (@grpc/grpc-js + proto-loader) against a real server.

tests/node/client_check.js asks what the plan below says and prints every answer as JSON;
this test judges the answers against the generated dataset itself (not the model's copy):
suitability, holdings, channel availability, reasons, INVALID_ARGUMENT for hostile input, and
a purchase recorded through RecordEvents disappearing from the next answer.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.data.holdings import holdings_at
from recsys.data.load import load_dataset
from recsys.engine.state import UNKNOWN_RISK_TOLERANCE
from tests.serving.conftest import Running
from tests.serving.trained import Trained

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SCRIPT = NODE_DIR / "client_check.js"
INVALID_ARGUMENT = 3  # grpc status code, the same number in every language
FIRST_ROW = 300  # rows below are used by other serving tests that record events
CONTEXT_TOLERANCE = 3
UNKNOWN = ["NEW-node-1", "NEW-node-2"]


@dataclass(frozen=True)
class Truth:
    """What the dataset says: tolerances, product facts, holdings at the model's cutoff."""

    tolerance: dict[str, int]
    risk: dict[str, int]
    repeatable: dict[str, bool]
    category: dict[str, str]
    channels: dict[str, list[str] | None]
    held: dict[str, set[str]]


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """tests/node/node_modules, installed from the lock file when missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed: the cross-language client check needs Node.js")
    installed = NODE_DIR / "node_modules"
    if not (installed / "@grpc" / "grpc-js").is_dir():
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    return installed


@pytest.fixture(scope="module")
def truth(model: Trained) -> Truth:
    """The generated dataset read back, independent of the model bundle."""
    data = load_dataset(model.data_dir)
    products = data.products
    held = holdings_at(data.events, products, model.loaded.engine.snapshot.as_of)
    held_by = held.group_by(C.customer_id).agg(pl.col(C.product_id))
    return Truth(
        tolerance=dict(
            zip(data.customers[C.customer_id], data.customers[C.risk_tolerance], strict=True)
        ),
        risk=dict(zip(products[C.product_id], products[C.risk_rating], strict=True)),
        repeatable=dict(
            zip(products[C.product_id], products[C.repeatable].fill_null(False), strict=True)
        ),
        category=dict(zip(products[C.product_id], products[C.category], strict=True)),
        channels=dict(zip(products[C.product_id], products[C.channels].to_list(), strict=True)),
        held={c: set(p) for c, p in held_by.iter_rows()},
    )


def plan_for(running: Running, model: Trained, truth: Truth) -> dict[str, Any]:
    """Known customers of every risk tolerance who hold something, unknown ones, contexts."""
    ids = model.loaded.engine.snapshot.customer_map.ids[FIRST_ROW:].tolist()
    holders = [c for c in ids if truth.held.get(c)]
    known = [
        next(c for c in holders if truth.tolerance[c] == t)
        for t in sorted({truth.tolerance[c] for c in holders})
    ]
    buyer = next(c for c in holders if c not in known)
    return {
        "target": f"127.0.0.1:{running.port}",
        # the channels that ask (inbound); outbound ones are campaigns' (tests/campaigns)
        "channels": [c for c, cfg in model.settings.channels.items() if not cfg.outbound],
        "known": known,
        "unknown": UNKNOWN,
        "with_context": [
            {
                "customer_id": "NEW-node-ctx",
                "kind": "unknown_with_context",
                "context": {C.risk_tolerance: str(CONTEXT_TOLERANCE), C.birth_year: "1980"},
            },
            # a known customer cannot raise their own tolerance by sending one
            {
                "customer_id": known[0],
                "kind": "known_with_context",
                "context": {C.risk_tolerance: "5"},
            },
        ],
        "some_product": next(iter(truth.risk)),
        "purchase": {
            "customer_id": buyer,
            "channel": "branch",
            "k": 10,
            "candidates": sorted(p for p, r in truth.repeatable.items() if not r),
        },
    }


@pytest.fixture(scope="module")
def answers(
    node_modules: Path,
    running: Running,
    model: Trained,
    truth: Truth,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The plan and what the Node client printed for it."""
    plan = plan_for(running, model, truth)
    plan_file = tmp_path_factory.mktemp("node") / "plan.json"
    plan_file.write_text(json.dumps(plan))
    done = subprocess.run(
        ["node", str(SCRIPT), str(plan_file)],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"node client failed:\n{done.stderr[-3000:]}"
    return plan, json.loads(done.stdout)


def tolerance_limit(answer: dict[str, Any], truth: Truth) -> int:
    kind = answer["kind"]
    if kind.startswith("known"):
        return truth.tolerance[answer["customer_id"]]
    return CONTEXT_TOLERANCE if kind == "unknown_with_context" else UNKNOWN_RISK_TOLERANCE


def problems_with(
    items: list[dict[str, Any]],
    customer_id: str,
    channel: str,
    limit: int,
    truth: Truth,
    model: Trained,
) -> list[str]:
    """Every rule an answer breaks, as readable lines (empty = a clean answer)."""
    excluded = set(model.settings.channels[channel].excluded_categories)
    held = truth.held.get(customer_id, set())
    out = []
    for item in items:
        p = item["product_id"]
        if truth.risk[p] > limit:
            out.append(f"{p}: risk {truth.risk[p]} > tolerance {limit}")
        if p in held and not truth.repeatable[p]:
            out.append(f"{p}: already held and not repeatable")
        if truth.channels[p] and channel not in truth.channels[p]:
            out.append(f"{p}: not sold on {channel} ({truth.channels[p]})")
        if truth.category[p] in excluded:
            out.append(f"{p}: category {truth.category[p]} not sold on {channel}")
        if not item["reasons"] or not all(r["code"] and r["text"] for r in item["reasons"]):
            out.append(f"{p}: no reason given ({item['reasons']})")
    if [i["rank"] for i in items] != list(range(1, len(items) + 1)):
        out.append(f"ranks {[i['rank'] for i in items]}")
    return out


def test_every_channel_answers_known_and_unknown_customers_within_the_rules(
    answers: tuple[dict[str, Any], dict[str, Any]], model: Trained, truth: Truth
) -> None:
    plan, result = answers
    asked = len(plan["known"]) + len(plan["unknown"]) + len(plan["with_context"])
    assert len(result["recommend"]) == len(plan["channels"]) * asked
    assert (
        {a["channel"] for a in result["recommend"]}
        == set(plan["channels"])
        == {"mobile", "web", "branch", "call_center", "atm"}
    )
    assert result["model_info"]["version"] == model.loaded.version
    for a in result["recommend"]:
        where = f"{a['customer_id']} ({a['kind']}) on {a['channel']}"
        assert a["ok"], f"{where}: {a['code']} {a['details']}"
        assert a["echoed_customer_id"] == a["customer_id"]
        assert a["model_version"] == model.loaded.version
        k = model.settings.channels[a["channel"]].default_k
        assert 1 <= len(a["items"]) <= k, f"{where}: {len(a['items'])} items, default k {k}"
        limit = tolerance_limit(a, truth)
        assert (
            problems_with(a["items"], a["customer_id"], a["channel"], limit, truth, model) == []
        ), where


def test_batches_answer_in_request_order_within_the_rules(
    answers: tuple[dict[str, Any], dict[str, Any]], model: Trained, truth: Truth
) -> None:
    plan, result = answers
    ids = plan["known"] + plan["unknown"]
    assert [b["channel"] for b in result["batches"]] == plan["channels"]
    for batch in result["batches"]:
        assert batch["ok"], batch["details"]
        assert [r["customer_id"] for r in batch["results"]] == ids
        for r in batch["results"]:
            limit = truth.tolerance.get(r["customer_id"], UNKNOWN_RISK_TOLERANCE)
            assert r["items"], (r["customer_id"], batch["channel"])
            assert (
                problems_with(r["items"], r["customer_id"], batch["channel"], limit, truth, model)
                == []
            )


def test_hostile_input_is_invalid_argument_naming_the_field(
    answers: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    _, result = answers
    assert len(result["hostile"]) >= 20
    wrong = [
        f"{h['name']} ({h['method']}): {h['code_name']} {h['details'][:120]!r}"
        for h in result["hostile"]
        if h["code"] != INVALID_ARGUMENT or not h["details"].startswith(h["field"])
    ]
    assert wrong == []


def test_a_purchase_recorded_through_record_events_leaves_the_next_answer(
    answers: tuple[dict[str, Any], dict[str, Any]], truth: Truth
) -> None:
    plan, result = answers
    bought = result["purchase"]
    assert bought["before_ok"] and bought["after_ok"], bought
    assert bought["bought"] is not None, f"no non-repeatable product in {bought['before']}"
    assert truth.repeatable[bought["bought"]] is False
    assert bought["recorded_ok"] and bought["accepted"] == 1, bought["recorded_details"]
    assert bought["bought"] in bought["before"]
    assert bought["bought"] not in bought["after"]
    assert len(bought["after"]) == plan["purchase"]["k"]
