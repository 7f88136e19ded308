"""Two kernels of the monitor's daily update, timed apart from it: the pair table's group pass and lexsort.

1. **Group pass** (:meth:`accountgraph.monitor._pairs.PairTable.add_groups`): a table of
   about ``--pairs`` pairs built from random cliques of 10-120 accounts among 500,000
   (every pair new), then one drift pass over the same cliques (every pair found), as a
   seed-scale update refreshes tens of millions of pairs. Run it once per revision, each
   on its own copy of ``src``::

       PYTHONPATH=/tmp/OLD/src python benchmarks/monitor_kernels.py --pairs 4e7
       PYTHONPATH=/tmp/NEW/src python benchmarks/monitor_kernels.py --pairs 4e7

2. **lexsort** (:func:`accountgraph._unique.lexsort` against ``np.lexsort``, in the same
   process): ``--rows`` rows of two keys of 19 bits (account pairs at seed scale).

Each measurement is repeated ``--repeat`` times in this process; the first group pass of a
process also pays numba's cache load and the table's first page faults, so the table lists
every repeat.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import accountgraph
from accountgraph.monitor._pairs import PairTable


def _cliques(n_pairs: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """Group labels and sorted accounts of random cliques holding about ``n_pairs`` pairs."""
    rng = np.random.default_rng(seed)
    sizes, total = [], 0
    while total < n_pairs:
        s = int(rng.integers(10, 120))
        sizes.append(s)
        total += s * (s - 1) // 2
    group = np.repeat(np.arange(len(sizes)), sizes)
    acc = np.concatenate([np.sort(rng.choice(500_000, s, replace=False)) for s in sizes]).astype(np.int64)
    return group, acc, total


def group_pass(n_pairs: int) -> tuple[float, float, int]:
    """Seconds to build the table (all pairs new) and to drift every pair once; rows held."""
    group, acc, total = _cliques(n_pairs)
    n = len(group)
    typ, zero = (group % 5).astype(np.int64), np.zeros(n)
    fixed = (np.zeros(n, bool), np.zeros(n, np.int64), np.zeros(n, np.int8), typ)
    table = PairTable()
    table.ensure_types(7)
    table.reserve(int(total * 1.25))
    t0 = time.perf_counter()
    table.add_groups(group, acc, *fixed, zero, zero + 0.5)
    t1 = time.perf_counter()
    table.add_groups(group, acc, *fixed, zero + 0.5, zero + 0.7)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, len(table)


def lexsort_pair(n_rows: int) -> tuple[float, float]:
    """Seconds of ``np.lexsort`` and of :func:`lexsort` on two 19-bit keys (same order checked)."""
    from accountgraph._unique import lexsort  # since f04702c (run with --rows 0 on older revisions)

    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 475_000, n_rows), rng.integers(0, 475_000, n_rows)
    t0 = time.perf_counter()
    want = np.lexsort((b, a))
    t1 = time.perf_counter()
    got = lexsort((b, a))
    t2 = time.perf_counter()
    if not np.array_equal(want, got):
        raise AssertionError("lexsort differs from np.lexsort")
    return t1 - t0, t2 - t1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=float, default=4e7, help="pairs of the group-pass table (0: skip)")
    ap.add_argument("--rows", type=float, default=1.8e7, help="rows of the lexsort comparison (0: skip)")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    print(f"accountgraph from {accountgraph.__file__}")
    if args.pairs > 0:
        print("| repeat | build s (pairs new) | drift s (pairs found) | rows |\n|---|---|---|---|")
        for r in range(args.repeat):
            build, drift, rows = group_pass(int(args.pairs))
            print(f"| {r + 1} | {build:.2f} | {drift:.2f} | {rows:,} |", flush=True)
    if args.rows > 0:
        print("\n| repeat | np.lexsort s | lexsort s |\n|---|---|---|")
        for r in range(args.repeat):
            old, new = lexsort_pair(int(args.rows))
            print(f"| {r + 1} | {old:.2f} | {new:.2f} |", flush=True)


if __name__ == "__main__":
    main()
