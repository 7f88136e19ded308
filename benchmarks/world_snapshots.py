"""Snapshots of detect on tuning worlds: every cluster's features and every account's cluster.

The ring scorer is fitted on the *tuning* worlds of ``benchmarks/PROTOCOL.md`` (issue 11).
Fitting and choosing thresholds need, per world, the features of every cluster and, per
account, its cluster, member score and ground truth; with those, any scorer, threshold
and membership gate can be evaluated at the account level without re-running detect.
This script writes them (evaluation seeds are refused):

``<out>/<seed>/clusters.parquet``
    ``result.clusters`` (every feature, gate and the score of the model in force).
``<out>/<seed>/accounts.parquet``
    ``account_id, cluster_id, member_score, flagged, kind, ring_id``.
``<out>/<seed>/meta.json``
    world size, scale, detect wall time and peak RSS.

Each world runs in a fresh subprocess, one at a time, under the machine's heavy-job lock
(``flock /tmp/ag-heavy.lock``) so that other benchmarks sharing the machine wait
(``--no-lock`` for small capped worlds).

Usage::

    .venv/bin/python benchmarks/world_snapshots.py --set tuning --max-accounts 150000 \\
        --data-root /tmp/synth-random/rw2 --out /tmp/snapshots
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import _measure  # noqa: E402
from random_worlds import SEED_SETS, HELD_OUT, _n_accounts  # noqa: E402

logger = logging.getLogger("world_snapshots")
LOCK = "/tmp/ag-heavy.lock"


def snapshot_one(seed: int, data: Path, out: Path, scale: float) -> dict[str, Any]:
    """Detect on one generated world (in this process) and write its snapshot."""
    import pyarrow.parquet as pq

    import accountgraph

    labels = pq.read_table(data / "labels.parquet").to_pandas()
    _measure.reset_peak_rss()
    t0 = time.perf_counter()
    res = accountgraph.detect(data / "events.parquet", data / "accounts.parquet", seed=0)
    took = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    res.clusters.to_parquet(out / "clusters.parquet", index=False)
    acc = res.assignments[["account_id", "cluster_id", "member_score", "flagged"]].merge(
        labels[["account_id", "kind", "ring_id"]], on="account_id", how="left")
    acc.to_parquet(out / "accounts.parquet", index=False)
    meta = {"seed": seed, "scale": scale, "n_accounts": len(acc), "n_events": int(res.stats["n_events"]),
            "detect_s": round(took, 1), "peak_rss_mib": round(_measure.peak_rss_kib() / 1024),
            "threshold": res.params["threshold"], "seconds": res.stats.get("seconds", {})}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta


def _spawn(seed: int, data: Path, out: Path, scale: float, timeout: float, lock: bool) -> int:
    cmd = (["flock", LOCK] if lock else []) + [sys.executable, str(Path(__file__).resolve()), "--one", str(seed),
           "--data", str(data), "--out", str(out), "--scale", str(scale)]
    try:
        return subprocess.run(cmd, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        logger.warning("seed %d: timed out after %.0f s", seed, timeout)
        return -1


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--set", choices=["tuning"], help="seed set of PROTOCOL.md (evaluation is refused)")
    g.add_argument("--seeds", type=int, nargs="+")
    g.add_argument("--one", type=int, help=argparse.SUPPRESS)
    p.add_argument("--max-accounts", type=int, default=150_000)
    p.add_argument("--data-root", type=Path, default=Path("/tmp/synth-random/rw2"))
    p.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--redo", action="store_true", help="rerun worlds that already have a snapshot")
    p.add_argument("--no-lock", action="store_true", help="do not wait for the heavy-job lock (small worlds)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("accountgraph").setLevel(logging.WARNING)
    if a.one is not None:
        meta = snapshot_one(a.one, a.data, a.out, a.scale)
        logger.info("seed %d: %s", a.one, meta)
        return
    seeds = SEED_SETS["tuning"] if a.set else a.seeds
    if set(seeds) & HELD_OUT:
        p.error("evaluation worlds are only ever scored for reporting (PROTOCOL.md); use tuning seeds")
    from accountgraph.synth import random_scenario

    for seed in seeds:
        out = a.out / str(seed)
        if (out / "meta.json").exists() and not a.redo:
            continue
        n_full = _n_accounts(random_scenario(seed))
        scale = float(f"{a.max_accounts / n_full:.4g}") if a.max_accounts and n_full > a.max_accounts else 1.0
        data, gen_s = _measure.ensure_dataset("random", a.data_root, seed=seed, scale=scale)
        rc = _spawn(seed, data, out, scale, a.timeout, not a.no_lock)
        logger.info("seed %d (scale %g, generated in %.0f s): exit %d", seed, scale, gen_s, rc)


if __name__ == "__main__":
    main()
