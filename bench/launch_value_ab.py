"""Issue 20's online done-when, played by `recsys simulate` against `recsys serve`, as experiments.

The bank is the demo's (20,000 customers, seed 7) with one launch: every event of the
Sustainable Equity Fund (MF_ESG, a fund the generator makes attractive to affluent and
private customers and to holders of the balanced fund) is taken out of the training data,
so the served model has never seen it, while the simulated customers (the generator's
truth) buy it when shown. The champion (configs/synthetic.toml) is trained on that data.

1. launch: `recsys experiments create --arm champion=0.5 --arm challenger=0.5 --challenger
   champion`, the server exploring in the challenger arm only
   (RECSYS_EXPLORATION__ARMS='["challenger"]'). Per arm: the visits until MF_ESG's share of
   the last WINDOW purchases reaches 80% of the oracle's (its share of the generator's own
   purchases since its launch: what the truth gives it), and the purchase rate (the cost).
2. value: the same split, the challenger ranked by P(purchase) x value x lever
   (RECSYS_RANKING__ARM_POLICIES='{"challenger": "value"}'). Per arm: value per 1,000
   answers and purchases per 1,000 answers, with 95% intervals; and the experiment report's
   lift in purchases per customer.

    python bench/launch_value_ab.py [--customers 20000] [--visits 30000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve_servers import recsys_serve  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BASE = ROOT / "var" / "bench" / "launch"
CONFIG = ROOT / "configs" / "synthetic.toml"
LAUNCHED = "MF_ESG"
LAUNCH_DAY = "2025-09-01"
SHARE_OF_ORACLE = 0.8
WINDOW = 300  # purchases the running share is measured over
WORKERS = 2


def main() -> int:
    """Both experiments; prints their figures and writes them as JSON under var/bench/launch."""
    args = _args()
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "RECSYS_HOME": str(BASE / "home"),
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    bank = _launch_bank(args.customers, env)
    oracle = _oracle_share(bank)
    print(f"oracle share of {LAUNCHED} in purchases since {LAUNCH_DAY}: {oracle:.4f}")
    _champion(bank, env)
    results = {"oracle_share": oracle}
    if not args.skip_launch:
        launch = _run(
            "launch",
            bank,
            args.visits,
            env,
            {
                "RECSYS_EXPLORATION__ENABLED": "true",
                "RECSYS_EXPLORATION__ARMS": '["challenger"]',
                # the run has no retraining: the launch stays in exploration throughout
                "RECSYS_EXPLORATION__MAX_IMPRESSIONS": "10000000",
                "RECSYS_EXPLORATION__TIGHT": "0.001",
                "RECSYS_EXPLORATION__REFRESH_SECONDS": "1",
            },
        )
        results["launch"] = _launch_figures(launch, oracle)
    if not args.skip_value:
        value = _run(
            "value",
            bank,
            args.visits,
            env,
            {"RECSYS_RANKING__ARM_POLICIES": '{"challenger": "value"}'},
        )
        results["value"] = _value_figures(value)
    (BASE / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--visits", type=int, default=30_000)
    parser.add_argument("--skip-launch", action="store_true")
    parser.add_argument("--skip-value", action="store_true")
    return parser.parse_args()


def _recsys(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(BIN / "recsys"), *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if check and done.returncode != 0:
        raise RuntimeError(
            f"recsys {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
        )
    return done


def _launch_bank(customers: int, env: dict[str, str]) -> Path:
    """The generated bank, and a copy whose events leave the launched product out."""
    full = BASE / f"bank-{customers}"
    if not (full / "truth.npz").is_file():
        _recsys(
            env,
            "data",
            "generate",
            "--customers",
            str(customers),
            "--seed",
            "7",
            "--out",
            str(full),
        )
    launch = BASE / f"launch-{customers}"
    if not (launch / "truth.npz").is_file():
        shutil.copytree(full, launch, dirs_exist_ok=True)
        events = pl.read_parquet(full / "events.parquet")
        events.filter(pl.col("product_id") != LAUNCHED).write_parquet(launch / "events.parquet")
    return launch


def _oracle_share(bank: Path) -> float:
    """The launched product's share of the generator's purchases since its launch."""
    events = pl.read_parquet(bank.parent / bank.name.replace("launch", "bank") / "events.parquet")
    bought = events.filter(
        (pl.col("event") == "purchase")
        & (pl.col("timestamp").dt.date() >= pl.lit(LAUNCH_DAY).str.to_date())
    )
    return bought.filter(pl.col("product_id") == LAUNCHED).height / max(bought.height, 1)


def _champion(bank: Path, env: dict[str, str]) -> None:
    done = _recsys(
        env,
        "train",
        "--data",
        str(bank),
        "--config",
        str(CONFIG),
        "--register",
        "--promote",
        "--skip-unchanged",
        check=False,
    )
    if done.returncode not in (0, 3):
        raise RuntimeError(f"recsys train exited {done.returncode}:\n{done.stderr[-3000:]}")


def _run(name: str, bank: Path, visits: int, env: dict[str, str], extra: dict[str, str]) -> dict:
    """A fresh store and server with `extra` settings, a 50/50 A/A split of the champion,
    `visits` simulated visits; the simulation's summary and the experiment's report."""
    db = BASE / "runs" / f"{name}.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    run_env = {
        **env,
        **extra,
        "RECSYS_DATABASE_URL": f"sqlite:///{db}",
        "RECSYS_EXPERIMENT_REFRESH_SECONDS": "0.5",
    }
    with recsys_serve(run_env, WORKERS, BASE / "logs" / name) as server:
        created = _recsys(
            run_env,
            "experiments",
            "create",
            "--server",
            server.address,
            "--name",
            f"bench-{name}",
            "--json",
            "--arm",
            "champion=0.5",
            "--arm",
            "challenger=0.5",
            "--challenger",
            "champion",
        )
        experiment = str(json.loads(created.stdout)["id"])
        time.sleep(2.0)
        started = time.perf_counter()
        done = _recsys(
            run_env,
            "simulate",
            "--data",
            str(bank),
            "--server",
            server.address,
            "--visits",
            str(visits),
            "--seed",
            "3",
            "--json",
        )
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{name}: {visits} visits in {time.perf_counter() - started:.0f} s")
        time.sleep(2.0)  # the decision logs' writers flush every 0.2 s
        report = _recsys(
            run_env, "experiments", "report", experiment, "--server", server.address, "--json"
        )
    return {"summary": summary, "report": json.loads(report.stdout)}


def _arms(run: dict) -> dict[str, dict]:
    return {row["arm"]: row for row in run["summary"]["arms"]}


def _launch_figures(run: dict, oracle: float) -> dict:
    """Per arm: visits until the windowed share reaches 80% of the oracle's, purchase rate
    (the simulation's, and the report's per customer with the lift against the champion)."""
    out = {}
    report = {a["arm"]: a for a in run["report"].get("arms", [])}
    for arm, row in _arms(run).items():
        bought = [(visit, ids) for visit, ids in row["bought_log"]]
        flat = [(visit, p) for visit, ids in bought for p in ids]
        reached = None
        for i in range(WINDOW, len(flat) + 1):
            window = flat[i - WINDOW : i]
            if sum(p == LAUNCHED for _, p in window) / WINDOW >= SHARE_OF_ORACLE * oracle:
                reached = window[-1][0]
                break
        launched = sum(p == LAUNCHED for _, p in flat)
        out[arm] = {
            "visits": row["visits"],
            "visits_to_80pct_of_oracle_share": reached,
            "launched_purchases": launched,
            "launched_share": launched / max(len(flat), 1),
            "purchases_per_1000_answers": row["purchases_per_1000_answers"],
            "report_purchase_rate": report.get(arm, {}).get("purchase_rate"),
            "report_lift": report.get(arm, {}).get("lift"),
        }
        print(
            f"  launch {arm}: {row['visits']} visits, {launched} of {len(flat)} purchases "
            f"of {LAUNCHED}; 80% of the oracle's share after "
            f"{reached if reached is not None else 'never'} visits; purchases per 1,000 "
            f"answers {_ci(row['purchases_per_1000_answers'])}"
        )
    return out


def _value_figures(run: dict) -> dict:
    """Per arm, from the experiment report: value per 1,000 answers and purchases per
    customer with 95% intervals; and the simulation's own tally for comparison."""
    out = {}
    tally = _arms(run)
    for a in run["report"].get("arms", []):
        arm = a["arm"]
        out[arm] = {
            "answers": a.get("answers", 0),
            "value_per_1000_answers": [
                a.get("value_per_1000_answers", 0.0),
                a.get("value_per_1000_low", 0.0),
                a.get("value_per_1000_high", 0.0),
            ],
            "purchase_rate": a.get("purchase_rate", 0.0),
            "lift": a.get("lift"),
            "simulated_value_per_1000_answers": tally[arm]["value_per_1000_answers"],
            "simulated_purchases_per_1000_answers": tally[arm]["purchases_per_1000_answers"],
        }
        print(
            f"  value {arm} (report): value per 1,000 answers "
            f"{_ci(out[arm]['value_per_1000_answers'])}, purchases per customer "
            f"{out[arm]['purchase_rate']:.4f}; (simulation) value per 1,000 answers "
            f"{_ci(tally[arm]['value_per_1000_answers'])}, purchases per 1,000 answers "
            f"{_ci(tally[arm]['purchases_per_1000_answers'])}"
        )
    return out


def _ci(triple: list[float]) -> str:
    mean, low, high = triple
    return f"{mean:.1f} [{low:.1f}, {high:.1f}]"


if __name__ == "__main__":
    raise SystemExit(main())
