"""The sandbox's cost per exercise: wall-clock milliseconds to run one small solution and its tests.

    python bench/sandbox.py [--n 20] [--workers 2] [--modes MODE ...]

Runs a correct HumanEval-sized exercise `--n` times in each sandbox mode this machine offers
(`isolation()` decides the default, "guard" is the in-interpreter layer alone), one at a time
and then `--workers` at a time through `run_many`, and prints one JSON line per mode: the
median and 90th-percentile milliseconds of a single run and the milliseconds per exercise in
the parallel batch. Nothing but the sandbox runs: no teacher, no parsing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SOLUTION = '''def running_max(xs: list[int]) -> list[int]:
    """The largest value seen so far, at each position."""
    out, best = [], None
    for x in xs:
        best = x if best is None else max(best, x)
        out.append(best)
    return out
'''
TESTS = """assert running_max([]) == []
assert running_max([1, 3, 2]) == [1, 3, 3]
assert running_max([-1, -2]) == [-1, -1]
"""


def measure(mode: str, n: int, workers: int) -> dict:
    from schoolhouse.sandbox import run_many, run_tests

    singles = []
    for _ in range(n):
        start = time.perf_counter()
        result = run_tests(SOLUTION, TESTS, mode=mode)
        singles.append((time.perf_counter() - start) * 1000)
        if not result.passed:
            raise SystemExit(f"{mode}: the exercise failed: {result}")
    start = time.perf_counter()
    results = run_many([(SOLUTION, TESTS)] * n, workers=workers, mode=mode)
    batch_ms = (time.perf_counter() - start) * 1000 / n
    assert all(r.passed for r in results)
    singles.sort()
    return {
        "mode": mode,
        "n": n,
        "median_ms": round(statistics.median(singles), 1),
        "p90_ms": round(singles[int(0.9 * (n - 1))], 1),
        f"per_exercise_ms_workers_{workers}": round(batch_ms, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20, help="runs per mode")
    parser.add_argument("--workers", type=int, default=2, help="sandboxes at a time in the batch")
    parser.add_argument(
        "--modes", nargs="+", help="sandbox modes to measure (default: this machine's and guard)"
    )
    args = parser.parse_args()
    if args.n < 1 or args.workers < 1:
        parser.error("--n and --workers must be at least 1")
    from schoolhouse.sandbox import isolation

    for mode in args.modes or dict.fromkeys([isolation(), "guard"]):
        print(json.dumps(measure(mode, args.n, args.workers)), flush=True)


if __name__ == "__main__":
    main()
