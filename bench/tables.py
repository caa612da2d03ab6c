"""How the benchmarks print: plain aligned tables, and lines flushed at once."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def print_table(
    title: str, header: Sequence[str], rows: Sequence[Sequence[object]], left: int = 1
) -> None:
    """A plain aligned table: the first `left` columns flush left, the others right."""
    cells = [[str(v) for v in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for i, row in enumerate(cells):
        pairs = enumerate(zip(row, widths, strict=True))
        print("  ".join(c.ljust(w) if j < left else c.rjust(w) for j, (c, w) in pairs))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()


def say(text: str) -> None:
    """Print a line now (a benchmark's progress is read while it runs)."""
    print(text, flush=True)


def print_checks(title: str, checks: Sequence[tuple]) -> None:
    """Targets as a table: (name, value, bound or None, unit, at_least) -> PASS/MISS/info."""
    rows = []
    for name, value, bound, unit, at_least in checks:
        met = bound is not None and (value >= bound if at_least else value <= bound)
        verdict = "" if bound is None else ("PASS" if met else "MISS")
        rows.append([name, f"{value:.2f}{unit}", verdict])
    print_table(title, ["target", "measured", ""], rows)
