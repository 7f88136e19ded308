"""The scoring stage's two infrastructure kernels, timed apart from it, on synthetic events.

``ip_concentration_counts`` (events per (cluster, IP) and shared (cluster, IP, minute)
buckets, over the clustered events) and ``exit_counts`` (distinct (account, day, IP)
triples), on ``--events`` events in time order from ``--accounts`` accounts, each using a
few IPs of a pool that other accounts share. Run it once per revision, each on its own copy
of ``src``, alternating::

    PYTHONPATH=/tmp/OLD/src python benchmarks/score_kernels.py --events 3e7
    PYTHONPATH=/tmp/NEW/src python benchmarks/score_kernels.py --events 3e7

Each kernel runs ``--repeat`` times in this process (the first run of a process also loads
numba's cache); the output is one line per run and a digest of the counts, which must agree
between revisions.
"""

from __future__ import annotations

import argparse
import hashlib
import time

import numpy as np

import accountgraph
from accountgraph.scoring._kernels import exit_counts, ip_concentration_counts


def _events(n: int, n_acc: int, n_clusters: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    acc = rng.integers(0, n_acc, n).astype(np.int32)
    ip = ((acc.astype(np.int64) * 3 + rng.integers(0, 3, n)) % max(n_acc // 2, 1)).astype(np.int32)
    minute = 29_000_000 + np.sort(rng.integers(0, 60 * 24 * 44, n))
    acc_cluster = np.where(rng.random(n_acc) < 0.7, rng.integers(0, n_clusters, n_acc), -1)
    return {"acc": acc, "ip": ip, "minute": minute, "acc_cluster": acc_cluster}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=float, default=3e7)
    p.add_argument("--accounts", type=int, default=400_000)
    p.add_argument("--clusters", type=int, default=26_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    ev = _events(int(a.events), a.accounts, a.clusters, a.seed)
    m = ev["acc_cluster"][ev["acc"]] >= 0
    cl, acc, ip, minute = ev["acc_cluster"][ev["acc"][m]], ev["acc"][m], ev["ip"][m], ev["minute"][m]
    day = ev["minute"] // 1440
    print(f"accountgraph {accountgraph.__version__} from {accountgraph.__file__}")
    print(f"{int(a.events):,} events, {int(m.sum()):,} clustered, {a.accounts:,} accounts")
    for r in range(a.repeat):
        t0 = time.perf_counter()
        counts = ip_concentration_counts(cl, acc, ip, minute, a.clusters)
        t1 = time.perf_counter()
        exits = exit_counts(ev["acc"], day, ev["ip"], a.accounts)
        t2 = time.perf_counter()
        digest = hashlib.sha256(b"".join(x.tobytes() for x in (*counts, exits))).hexdigest()[:16]
        print(f"run {r}: ip_concentration_counts {t1 - t0:.2f} s, exit_counts {t2 - t1:.2f} s, digest {digest}")


if __name__ == "__main__":
    main()
