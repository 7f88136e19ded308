"""Distinct signature hashes: ``pandas.factorize(sort=True)`` against one sort of the rows.

The template stage numbers the distinct MinHash signatures of the signed prompts (at seed
scale 18.2M rows, 14.5M distinct). ``pandas.factorize`` hashes every row, then sorts the
distinct values and remaps the codes; :func:`accountgraph._unique.factorize_sorted_values`
sorts the rows once. Both run in this process on the same random ``uint64`` hashes, in turn,
``--repeat`` times; the results must be equal::

    python benchmarks/factorize_hashes.py --rows 18.2e6 --distinct 14.5e6
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from accountgraph._unique import factorize_sorted_values


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=float, default=18.2e6)
    p.add_argument("--distinct", type=float, default=14.5e6)
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    rng = np.random.default_rng(0)
    pool = rng.integers(0, 2**63, int(a.distinct), dtype=np.int64).astype(np.uint64)
    h = np.concatenate([pool, pool[rng.integers(0, len(pool), int(a.rows) - len(pool))]])
    rng.shuffle(h)
    times: dict[str, list[float]] = {"pandas.factorize(sort=True)": [], "factorize_sorted_values": []}
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        c1, u1 = pd.factorize(h, sort=True)
        t1 = time.perf_counter()
        c2, u2 = factorize_sorted_values(h)
        t2 = time.perf_counter()
        assert np.array_equal(c1, c2) and np.array_equal(u1, u2)
        times["pandas.factorize(sort=True)"].append(t1 - t0)
        times["factorize_sorted_values"].append(t2 - t1)
        del c1, u1, c2, u2
    print(f"{len(h):,} rows, {len(pool):,} distinct")
    for k, v in times.items():
        print(f"{k}: median {statistics.median(v):.2f} s of {', '.join(f'{x:.2f}' for x in v)}")
    ratio = statistics.median(times["pandas.factorize(sort=True)"]) / statistics.median(times["factorize_sorted_values"])
    print(f"ratio {ratio:.2f}x")


if __name__ == "__main__":
    main()
