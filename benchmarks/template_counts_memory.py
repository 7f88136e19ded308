"""Memory of the views' per-cluster template counts at seed-scale sizes (tracemalloc's traced peak).

``views._tables.cluster_template_counts`` over 51.6M events of 496,024 accounts, 27 % of them in
about 26,000 clusters that send 73 % of the events, each cluster's prompts spread over ~20 template
families (the sizes of ``seed-2026`` at scale 1; the values are synthetic). Run it once per
checkout to compare revisions::

    python benchmarks/template_counts_memory.py /tmp/OLD/src
    python benchmarks/template_counts_memory.py src
"""

from __future__ import annotations

import sys
import time
import tracemalloc

import numpy as np


def main() -> None:
    sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else "src")
    from accountgraph.views import _tables

    rng = np.random.default_rng(0)
    n, n_acc = 51_592_061, 496_024
    acc_cid = np.where(rng.random(n_acc) < 0.27, rng.integers(0, 26_000, n_acc), -1)
    ev_account = rng.integers(0, n_acc, n).astype(np.int32)
    clustered = int(0.73 * n)
    ev_account[:clustered] = rng.choice(np.flatnonzero(acc_cid >= 0), clustered).astype(np.int32)
    ev_family = ((np.maximum(acc_cid[ev_account], 0) * 7 + rng.integers(0, 20, n)) % 200_000).astype(np.int32)
    tracemalloc.start()
    t0 = time.perf_counter()
    out = _tables.cluster_template_counts(acc_cid, ev_account, ev_family)
    _, peak = tracemalloc.get_traced_memory()
    print(f"{sys.argv[1:]}: traced peak {peak / 2**20:.0f} MiB, {time.perf_counter() - t0:.1f} s, {len(out)} rows")


if __name__ == "__main__":
    main()
