"""Long fuzz campaign: the strategies of tests/property/fuzz_strategies.py into detect, many examples.

Runs ``--examples`` examples split over ``--jobs`` processes (each with its own
hypothesis seed, at nice 10), counts outcomes (returned / library error by
class / unexpected exception / row-accounting violation) and writes
``benchmarks/results/fuzz_campaign.md`` with the command, machine and git revision.

    .venv/bin/python benchmarks/fuzz_campaign.py --examples 100000 --jobs 2 --max-rows 12
"""

from __future__ import annotations

import argparse
import collections
import logging
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))


def _worker(args: tuple[int, int, int]) -> dict:
    seed, n_examples, max_rows = args
    os.nice(10)
    os.environ["ACCOUNTGRAPH_FUZZ_MAX_ROWS"] = str(max_rows)
    logging.disable(logging.CRITICAL)
    import warnings

    warnings.simplefilter("ignore")
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed

    from tests.property.fuzz_strategies import check_accounting, inputs, run_one

    counts: collections.Counter = collections.Counter()
    failures: list[str] = []

    @hseed(seed)
    @settings(max_examples=n_examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(inputs(max_rows=max_rows))
    def one(data):
        events, accounts = data
        try:
            outcome, res = run_one(events, accounts)
        except Exception as exc:  # noqa: BLE001 - the campaign records, never stops
            counts[f"unexpected {type(exc).__name__}"] += 1
            if len(failures) < 5:
                failures.append(f"{type(exc).__name__}: {str(exc)[:300]}\n{traceback.format_exc()[-1500:]}\n"
                                f"input: {data!r}"[:4000])
            return
        if outcome == "returned":
            try:
                check_accounting(res, events, accounts)
                counts["returned"] += 1
            except AssertionError:
                counts["accounting violation"] += 1
                if len(failures) < 5:
                    failures.append(f"accounting violation\n{traceback.format_exc()[-1500:]}\ninput: {data!r}"[:4000])
        else:
            counts[f"library error {type(res).__name__}"] += 1

    t0 = time.perf_counter()
    one()
    return {"counts": dict(counts), "failures": failures, "seconds": time.perf_counter() - t0, "seed": seed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=100_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--max-rows", type=int, default=12)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "fuzz_campaign.md"))
    a = ap.parse_args()
    per = -(-a.examples // a.jobs)
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(a.jobs) as pool:
        parts = pool.map(_worker, [(a.seed + j, per, a.max_rows) for j in range(a.jobs)])
    wall = time.perf_counter() - t0
    total: collections.Counter = collections.Counter()
    for p in parts:
        total.update(p["counts"])
    n = sum(total.values())
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True).stdout
    lines = [
        "# Fuzz campaign: whole input tables into detect (issue 12)", "",
        f"Command: `.venv/bin/python benchmarks/fuzz_campaign.py --examples {a.examples} --jobs {a.jobs} "
        f"--max-rows {a.max_rows} --seed {a.seed}`", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, 24 GiB, shared with other jobs (nice 10); "
        f"Python {platform.python_version()}. Git revision: {rev}{' (src modified)' if dirty else ''}.", "",
        f"Examples run: **{n}** in {wall:.0f} s wall ({n / wall:.1f} examples/s over {a.jobs} processes); "
        f"hypothesis seeds {', '.join(str(p['seed']) for p in parts)}; at most {a.max_rows} rows per table.", "",
        "| outcome | examples | share |", "|---|---:|---:|",
    ]
    for k, v in sorted(total.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {k} | {v} | {v / max(n, 1):.1%} |")
    bad = {k: v for k, v in total.items() if k.startswith(("unexpected", "accounting"))}
    lines += ["", f"Unexpected exceptions or accounting violations: **{sum(bad.values())}**.", ""]
    fails = [f for p in parts for f in p["failures"]]
    if fails:
        lines += ["## First failures", ""] + [f"```\n{f}\n```" for f in fails[:5]]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
