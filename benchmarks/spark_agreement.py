"""How far Leiden-per-component (Spark engine) moves the answer from the local engine's joint Leiden run.

For each small scenario both engines run on the same data and seed. Reported: clusters, flagged
accounts, Jaccard agreement of the flagged sets, the adjusted Rand index of the account
partitions (accounts in no cluster as singletons), and whether the assignments are equal. (The
results file was written before main moved to per-component Leiden, when the reference was the
local engine with Leiden per component; since then the local engine is that reference.) Scenarios marked *tuning* were used to choose thresholds, so the
flags are not an evaluation, only the agreement is::

    nice .venv/bin/python benchmarks/spark_agreement.py

Results go to ``benchmarks/results/spark_agreement.md``.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent))

from run_benchmarks import git_revision, machine_description  # noqa: E402

CASES = [("tiny", 0, 1.0), ("tiny", 1, 1.0), ("tiny", 2, 1.0), ("camouflage", 0, 0.02), ("small", 0, 0.1),
         ("residential-proxy", 0, 0.02)]


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    """ARI of two labelings (label -1 = singleton)."""
    n = len(a)
    a = np.where(a < 0, -1 - np.arange(n), a)
    b = np.where(b < 0, -1 - np.arange(n), b)
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    pair = np.unique(ai.astype(np.int64) * (bi.max() + 1) + bi, return_counts=True)[1]
    c2 = lambda x: (x * (x - 1) / 2).sum()  # noqa: E731
    s_ij, s_a, s_b = c2(pair), c2(np.bincount(ai)), c2(np.bincount(bi))
    exp = s_a * s_b / (n * (n - 1) / 2)
    return float((s_ij - exp) / (0.5 * (s_a + s_b) - exp)) if s_a + s_b != 2 * exp else 1.0


def main() -> None:
    import accountgraph
    from accountgraph import spark as agspark
    from accountgraph.engines.spark import spark_session
    from accountgraph.synth import generate

    spark = spark_session("local[2]", shuffle_partitions=2)
    rows = []
    for scen, seed, scale in CASES:
        ds = generate(scen, seed=seed, scale=scale)
        loc = accountgraph.detect(ds.events, ds.accounts, seed=0)
        t0 = time.perf_counter()
        sr = agspark.detect(spark.createDataFrame(ds.events.to_pandas()), spark.createDataFrame(ds.accounts.to_pandas()),
                            seed=0)
        ts = time.perf_counter() - t0
        ref = loc
        a = sr.to_pandas("assignments")
        fl, fs = set(loc.flagged_accounts), set(a.loc[a["flagged"], "account_id"])
        same_ref = (a["cluster_id"].to_numpy() == ref.assignments["cluster_id"].to_numpy()).all() and \
            (a["flagged"].to_numpy() == ref.assignments["flagged"].to_numpy()).all()
        rows.append((scen, seed, scale, len(a), len(loc.clusters), len(sr.clusters), len(fl), len(fs),
                     len(fl & fs) / len(fl | fs) if fl | fs else 1.0,
                     adjusted_rand(loc.assignments["cluster_id"].to_numpy(), a["cluster_id"].to_numpy()), same_ref, ts))
        print(rows[-1], flush=True)
    spark.stop()
    head = "| scenario | seed | scale | accounts | clusters local | clusters spark | flagged local | flagged spark | flagged agreement | ARI | = local (cluster ids, flags) | spark s |"
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        lines.append(f"| {r[0]} | {r[1]} | {r[2]:g} | {r[3]:,} | {r[4]} | {r[5]} | {r[6]} | {r[7]} | {r[8]:.4f} | "
                     f"{r[9]:.4f} | {'yes' if r[10] else 'NO'} | {r[11]:.0f} |")
    text = ["# Spark engine vs local engine: agreement (Leiden per component)", "",
            "- Command: `nice .venv/bin/python benchmarks/spark_agreement.py`",
            f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}; revision {git_revision()}",
            f"- Machine: {machine_description()} (shared); Spark `local[2]`, 2 shuffle partitions, one session.",
            "- Scenarios: `accountgraph.synth` at the scales shown (tuning worlds: they say nothing about quality here, "
            "only about agreement). ARI over all accounts, accounts in no cluster as singletons.", "", *lines, ""]
    (HERE / "results" / "spark_agreement.md").write_text("\n".join(text))


if __name__ == "__main__":
    main()
