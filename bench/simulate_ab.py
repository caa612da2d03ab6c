"""Issue 17's online done-when, played by `recsys simulate` against `recsys serve --workers 2`.

1. A/B: the demo champion (configs/synthetic.toml, trained on the 20,000-customer demo bank)
   against a popularity control within the rules, 50/50. PASS when the lift in purchases per
   assigned customer has a 95% interval that excludes 0 and the report flags no SRM.
2. A/A over 20 seeds: the champion in both arms (a fresh store, experiment and simulation per
   seed). PASS when at most 2 of the 20 reports call a significant difference under the
   sequential test; the count is printed.

Each run gets a store of its own (a fresh SQLite file), so one run's purchases never reach the
next run's customers. Experiments are made and read through the CLI (`recsys experiments
create` / `report --json`); this script stops with a clear error when the CLI lacks them.

    python bench/simulate_ab.py [--customers 20000] [--visits 40000] [--aa-seeds 20]
                                [--aa-visits N] [--skip-aa] [--skip-ab]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve_servers import recsys_serve  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BASE = ROOT / "var" / "bench" / "simulate"
CONFIG = ROOT / "configs" / "synthetic.toml"
WORKERS = 2
AA_MAX_SIGNIFICANT = 2
# What this script expects of `recsys experiments`; the lead adapts _create/_verdict if the
# merged CLI spells them differently (the check below names what is missing).
CREATE_OPTIONS = ("--name", "--arm", "--json")
REPORT_OPTIONS = ("--json",)


class MissingExperiments(RuntimeError):
    """The CLI has no (or a different) `recsys experiments`: the message says what is missing."""


@dataclass(frozen=True)
class Verdict:
    """What one report says about the treatment arm against the champion."""

    lift: float
    low: float
    high: float
    sequential_significant: bool
    srm: bool


def main() -> int:
    args = _args()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0",
           "RECSYS_HOME": str(BASE / "home")}
    env.pop("MLFLOW_TRACKING_URI", None)
    try:
        _check_cli(env)
    except MissingExperiments as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bank = _bank(args.customers, env)
    _champion(bank, env)
    ok = True
    if not args.skip_ab:
        ab = _run("ab", bank, args.visits, 1, env, arms=("champion=0.5", "control=0.5"),
                  control="popularity")
        # the report gives the control's lift against the champion: the champion's over
        # the control is its negative
        lift, low, high = -ab.lift, -ab.high, -ab.low
        ab_pass = low > 0 and not ab.srm
        print(f"A/B champion vs popularity: lift {lift:+.4f} purchases/customer, 95% CI "
              f"[{low:+.4f}, {high:+.4f}], SRM {'FLAGGED' if ab.srm else 'no'}: "
              f"{'PASS' if ab_pass else 'MISS'}")
        ok &= ab_pass
    if not args.skip_aa:
        significant = 0
        aa_visits = args.aa_visits or args.visits
        for seed in range(args.aa_seeds):
            v = _run(f"aa-{seed}", bank, aa_visits, 100 + seed, env,
                     arms=("champion=0.5", "challenger=0.5"), challenger="champion")
            significant += v.sequential_significant
            print(f"  A/A seed {seed}: lift {v.lift:+.4f} [{v.low:+.4f}, {v.high:+.4f}] "
                  f"sequential {'significant' if v.sequential_significant else 'not'}")
        aa_pass = significant <= AA_MAX_SIGNIFICANT
        print(f"A/A: {significant} of {args.aa_seeds} significant under the sequential test "
              f"(at most {AA_MAX_SIGNIFICANT}; {aa_visits} visits a seed): "
              f"{'PASS' if aa_pass else 'MISS'}")
        ok &= aa_pass
    return 0 if ok else 1


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--visits", type=int, default=40_000)
    parser.add_argument("--aa-seeds", type=int, default=20)
    parser.add_argument("--aa-visits", type=int, default=0,
                        help="visits per A/A seed (default: --visits)")
    parser.add_argument("--skip-aa", action="store_true")
    parser.add_argument("--skip-ab", action="store_true")
    return parser.parse_args()


def _recsys(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([str(BIN / "recsys"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"recsys {' '.join(args)} exited {done.returncode}:\n"
                           f"{done.stderr[-3000:]}")
    return done


def _check_cli(env: dict[str, str]) -> None:
    for sub, options in (("create", CREATE_OPTIONS), ("report", REPORT_OPTIONS)):
        done = _recsys(env, "experiments", sub, "--help", check=False)
        if done.returncode != 0:
            raise MissingExperiments(
                f"`recsys experiments {sub}` is not available (exit {done.returncode}): this "
                "benchmark needs issue 17's experiments (merge the experiments branch first)"
            )
        missing = [o for o in options if o not in done.stdout]
        if missing:
            raise MissingExperiments(
                f"`recsys experiments {sub}` has no {', '.join(missing)}: adapt "
                "bench/simulate_ab.py (_create, _verdict) to its options"
            )


def _bank(customers: int, env: dict[str, str]) -> Path:
    """The demo bank with its ground truth (generated once, seed 7 as `make run`)."""
    bank = BASE / f"bank-{customers}"
    if not (bank / "truth.npz").is_file():
        _recsys(env, "data", "generate", "--customers", str(customers), "--seed", "7",
                "--out", str(bank))
    return bank


def _champion(bank: Path, env: dict[str, str]) -> None:
    """The demo's champion in the bench registry (trained once; --skip-unchanged after)."""
    done = _recsys(env, "train", "--data", str(bank), "--config", str(CONFIG), "--register",
                   "--promote", "--skip-unchanged", check=False)
    if done.returncode not in (0, 3):  # 3: registered, not promoted (a champion is there)
        raise RuntimeError(f"recsys train exited {done.returncode}:\n{done.stderr[-3000:]}")


def _run(name: str, bank: Path, visits: int, seed: int, env: dict[str, str], *,
         arms: tuple[str, ...], control: str | None = None,
         challenger: str | None = None) -> Verdict:
    """A fresh store and server, one experiment on every channel, N simulated visits."""
    db = BASE / "runs" / f"{name}.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    # each process re-reads the experiments every 0.5 s: the first visit is in the experiment
    run_env = {**env, "RECSYS_DATABASE_URL": f"sqlite:///{db}",
               "RECSYS_EXPERIMENT_REFRESH_SECONDS": "0.5"}
    with recsys_serve(run_env, WORKERS, BASE / "logs" / name) as server:
        experiment = _create(run_env, server.address, name, arms, control, challenger)
        time.sleep(2.0)
        done = _recsys(run_env, "simulate", "--data", str(bank), "--server", server.address,
                       "--visits", str(visits), "--seed", str(seed), "--json")
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        for row in summary["arms"]:
            print(f"  {name} {row['arm']}: {row['customers']} customers, "
                  f"{row['purchases']} purchases ({row['purchase_rate']:.4f}/customer)")
        print(f"  {name}: {summary['visits_per_s']:.0f} visits/s")
        time.sleep(2.0)  # the decision logs' writers flush every 0.2 s
        report = _recsys(run_env, "experiments", "report", experiment, "--server",
                         server.address, "--json")
        if name == "ab":  # the sample report of README.md, and its plot
            plot = BASE / "reports" / f"{name}.png"
            shown = _recsys({**run_env, "COLUMNS": "150"}, "experiments", "report",
                            experiment, "--server", server.address, "--plot", str(plot))
            (BASE / "reports" / f"{name}.txt").write_text(shown.stdout)
            print(shown.stdout)
        return _verdict(json.loads(report.stdout))


def _create(env: dict[str, str], address: str, name: str, arms: tuple[str, ...],
            control: str | None, challenger: str | None) -> str:
    args = ["experiments", "create", "--server", address, "--name", f"bench-{name}", "--json"]
    for arm in arms:
        args += ["--arm", arm]
    if control is not None:
        args += ["--control-policy", control]
    if challenger is not None:
        args += ["--challenger", challenger]
    doc = json.loads(_recsys(env, *args).stdout)
    return str(doc["id"])


def _verdict(report: dict) -> Verdict:
    """The treatment arm's lift against the champion, as the report's JSON gives it."""
    try:
        [lift] = [a["lift"] for a in report["arms"] if a.get("lift")]
        return Verdict(
            lift=float(lift["absolute"]),
            low=float(lift["ci_low"]),
            high=float(lift["ci_high"]),
            sequential_significant=bool(lift["sequential_significant"]),
            srm=bool(report["srm"]["flagged"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RuntimeError(
            f"the report's JSON differs from what bench/simulate_ab.py reads ({exc!r}); "
            "adapt _verdict"
        ) from exc


if __name__ == "__main__":
    sys.exit(main())
