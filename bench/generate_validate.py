"""Benchmark: generate a synthetic bank, write it, validate it; print times, memory and ratios.

    python bench/generate_validate.py [--customers N] [--seed S] [--format parquet|csv]
                                      [--out DIR] [--keep]

N defaults to $BENCH_CUSTOMERS or 1,000,000. Each phase runs in its own child process so
its peak resident memory (getrusage ru_maxrss, interpreter included) is its own. Targets:
generation < 60 s and < 4 GB peak, validation < 30 s. Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_GENERATE_S = 60.0
TARGET_PEAK_GB = 4.0
TARGET_VALIDATE_S = 30.0
GB = 1024**3


def _peak_bytes() -> int:
    # Linux reports ru_maxrss in KiB (macOS in bytes)
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _phase_generate(customers: int, seed: int, out: Path, fmt: str) -> dict:
    from recsys.data.generate import generate
    from recsys.data.write import write_dataset

    started = time.perf_counter()
    data = generate(customers, seed)
    generated = time.perf_counter()
    write_dataset(data, out, fmt=fmt)  # type: ignore[arg-type]
    written = time.perf_counter()
    events = dict(data.events.group_by("event").len().iter_rows())
    return {
        "generate_s": generated - started,
        "write_s": written - generated,
        "peak_bytes": _peak_bytes(),
        "rows": data.summary(),
        "events_by_type": events,
        "disk_bytes": sum(p.stat().st_size for p in out.iterdir()),
    }


def _phase_validate(out: Path) -> dict:
    from recsys.columns import DEFAULT_CHANNELS
    from recsys.data.validate import validate_dataset

    started = time.perf_counter()
    data, problems = validate_dataset(out, channels=DEFAULT_CHANNELS)
    return {
        "validate_s": time.perf_counter() - started,
        "peak_bytes": _peak_bytes(),
        "valid": data is not None,
        "problems": [str(p) for p in problems[:10]],
        "n_problems": len(problems),
    }


def _child(phase: str, args: argparse.Namespace) -> dict:
    """Run one phase in a fresh interpreter; its JSON result is the last line of stdout."""
    command = [sys.executable, __file__, "--phase", phase, "--customers", str(args.customers),
               "--seed", str(args.seed), "--format", args.format, "--out", str(args.out)]
    env = os.environ | {"OPENBLAS_NUM_THREADS": "1"}
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        print(f"{phase} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
        return {"failed": True, "process_s": wall}
    return json.loads(done.stdout.strip().splitlines()[-1]) | {"process_s": wall}


def _line(label: str, value: float, unit: str, target: float | None = None, note: str = "") -> str:
    """One figure, with its ratio to the target when there is one."""
    text = f"{label:<16}{value:8.2f} {unit:<3}"
    if target is not None:
        verdict = "within target" if value <= target else "OVER target"
        text += f" {value / target:5.2f}x of {target:g} {unit} ({verdict})"
    return (text + (f" {note}" if note else "")).rstrip()


def _report(args: argparse.Namespace, gen: dict, val: dict) -> None:
    print(f"\nbank: {args.customers:,} customers, seed {args.seed}, {args.format} in {args.out}")
    if not gen.get("failed"):
        print(f"rows: {', '.join(f'{k} {v:,}' for k, v in gen['rows'].items())}")
        kinds = sorted(gen["events_by_type"].items())
        print(f"events: {', '.join(f'{k} {v:,}' for k, v in kinds)}")
        print(f"on disk: {gen['disk_bytes'] / 2**20:,.1f} MiB")
        total = gen["generate_s"] + gen["write_s"]
        print(_line("generate", gen["generate_s"], "s", TARGET_GENERATE_S))
        print(_line("  write", gen["write_s"], "s"))
        print(_line("  generate+write", total, "s", TARGET_GENERATE_S))
        print(_line("  peak memory", gen["peak_bytes"] / GB, "GB", TARGET_PEAK_GB))
        print(_line("  child process", gen["process_s"], "s", note="(with imports, start-up)"))
    if not val.get("failed"):
        print(_line("validate", val["validate_s"], "s", TARGET_VALIDATE_S))
        print(_line("  peak memory", val["peak_bytes"] / GB, "GB"))
        verdict = "valid" if val["valid"] else "INVALID"
        print(f"  result: {verdict}, {val['n_problems']} problem(s)")
        for problem in val["problems"]:
            print(f"    - {problem}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = int(os.environ.get("BENCH_CUSTOMERS", "1000000"))
    parser.add_argument("--customers", type=int, default=default)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--out", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the written dataset")
    parser.add_argument("--phase", choices=("generate", "validate"), help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    """Run both phases in child processes and print the figures."""
    args = _arguments()
    if args.phase == "generate":
        print(json.dumps(_phase_generate(args.customers, args.seed, args.out, args.format)))
        return
    if args.phase == "validate":
        print(json.dumps(_phase_validate(args.out)))
        return
    temporary = args.out is None
    args.out = args.out or Path(tempfile.mkdtemp(prefix="bank-bench-")) / "bank"
    print(f"generating {args.customers:,} customers (seed {args.seed}) ...", flush=True)
    gen = _child("generate", args)
    print("validating ...", flush=True)
    val = _child("validate", args) if not gen.get("failed") else {"failed": True}
    _report(args, gen, val)
    if temporary and not args.keep:
        shutil.rmtree(args.out.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
