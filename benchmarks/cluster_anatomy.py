"""What holds the largest clusters of a world together, and who is in them.

For one generated world (a directory written by ``accountgraph synth``), runs
``accountgraph.detect`` at its defaults and prints, for the largest clusters: their size,
the ground-truth kinds of their accounts, ring score, gates and flag, and per signal type
the signals shared inside them (how many, how widely shared inside and outside). This is
how the scale failures of issue 11 (strangers glued into a population-scale cluster) were
diagnosed on tuning worlds generated at full scale; use tuning seeds only.

Usage::

    .venv/bin/python benchmarks/cluster_anatomy.py /tmp/synth-random/full/random-seed1010-scale7 --top 8
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))


def anatomy(res: Any, labels: Any, top: int) -> str:
    """Markdown tables: size and kind mix of the largest clusters, and their shared signals by type."""
    import pandas as pd

    asg = res.assignments.merge(labels[["account_id", "kind"]], on="account_id", how="left")
    inside = asg[asg.cluster_id >= 0]
    mix = inside.groupby(["cluster_id", "kind"]).size().unstack(fill_value=0)
    cl = res.clusters.set_index("cluster_id")
    biggest = cl.sort_values("n_accounts", ascending=False).head(top).index
    lines = ["| cluster | accounts | " + " | ".join(mix.columns) + " | ring_score | gates (size, spread, share) | flagged |",
             "|---:|---:|" + "---:|" * len(mix.columns) + "---:|---|---|"]
    for c in biggest:
        r = cl.loc[c]
        lines.append(f"| {c} | {int(r.n_accounts):,} | " + " | ".join(f"{int(mix.loc[c, k]):,}" for k in mix.columns)
                     + f" | {r.ring_score:.3f} | {r.size_gate:.2f}, {r.spread_gate:.2f}, {r.share_gate:.0f} |"
                     f" {bool(r.flagged)} |")
    cs = res.cluster_signals
    cs = cs[cs.cluster_id.isin(biggest)]
    g = cs.groupby(["cluster_id", "signal_type"]).agg(
        signals=("value", "size"), in_median=("accounts_in_cluster", "median"),
        total_median=("accounts_total", "median"), weight_median=("weight", "median"))
    lines += ["", "| cluster | signal type | shared signals | accounts in cluster (median) | accounts overall "
              "(median) | rarity weight (median) |", "|---:|---|---:|---:|---:|---:|"]
    for (c, t), r in g.iterrows():
        lines.append(f"| {c} | {t} | {int(r.signals):,} | {r.in_median:.0f} | {r.total_median:.0f} |"
                     f" {r.weight_median:.3f} |")
    sizes = inside.groupby("cluster_id").size()
    bins = pd.cut(sizes, [0, 5, 20, 100, 1000, 10_000, 10**9]).value_counts().sort_index()
    lines += ["", "| cluster size | clusters |", "|---|---:|", *[f"| {b} | {n:,} |" for b, n in bins.items()]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import pyarrow.parquet as pq

    import accountgraph
    from accountgraph.metrics import evaluate

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path)
    p.add_argument("--top", type=int, default=8)
    a = p.parse_args(argv)
    labels = pq.read_table(a.data / "labels.parquet").to_pandas()
    t0 = time.perf_counter()
    res = accountgraph.detect(a.data / "events.parquet", a.data / "accounts.parquet", seed=0)
    m = evaluate(res.assignments, labels)
    print(f"# {a.data.name}: {len(labels):,} accounts, {res.stats['n_events']:,} events, detect "
          f"{time.perf_counter() - t0:.0f} s\n")
    print(f"F1 {m.f1:.3f}, P {m.precision:.3f}, R {m.recall:.3f}, FPR legit {m.fpr_legit:.4%}, enterprise "
          f"{m.fpr_enterprise:.4%}, automation {m.fpr_automation:.4%}; stage seconds {res.stats['seconds']}\n")
    print(anatomy(res, labels, a.top))


if __name__ == "__main__":
    main()
