"""Cluster features on the tuning worlds, and how well each separates rings from benign clusters.

Issue 11 asks to *measure* the separation of candidate evidence on the tuning worlds
before adopting it. This script, for each world of a seed set (tuning worlds only, by
``benchmarks/PROTOCOL.md``; it refuses the evaluation set), runs
``accountgraph.detect(events, accounts, seed=0)`` at its defaults, takes every cluster of
at least ``--min-size`` accounts with

* the features ``detect`` already reports in ``result.clusters`` (timing, cadence,
  templates, output, creation, model pivot, the ring score itself), and
* candidate features computed here from the raw events (none of them is in the scorer
  yet): synchrony on shared exits, exit churn per account-day, creation spread,
  organisational anchor (a concentrated e-mail domain), device and payment sharing,
  and the cluster's share of all accounts and events,

labels it from the ground truth (``ring`` when at least half its accounts are ring
members, ``benign`` when none is more than 10 %, otherwise ``mixed``, left out of the AUC),
and writes

* ``--features PATH`` (Parquet): one row per cluster and world, every feature, the label
  and the world seed (the training table for a calibrated scorer), and
* ``--out PATH`` (Markdown): per feature the ROC AUC of ring vs benign clusters pooled over
  the worlds, the median and worst per-world AUC, and the direction.

Usage::

    .venv/bin/python benchmarks/cluster_features.py --set tuning --max-accounts 60000 \\
        --data-root /tmp/synth-random/rw --features /tmp/cluster_features.parquet \\
        --out benchmarks/results/feature_separation.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import _measure  # noqa: E402
from random_worlds import SEED_SETS, HELD_OUT, _n_accounts  # noqa: E402
from run_benchmarks import git_revision, machine_description  # noqa: E402

logger = logging.getLogger("cluster_features")

#: Features detect reports per cluster (``result.clusters``), measured as they are.
DETECT_FEATURES = [
    "ring_score", "hour_entropy", "quiet_hours_share", "weekend_share", "events_per_account_day",
    "daily_volume_cv", "active_day_share", "template_top3_share", "template_shared_share",
    "output_median", "output_rel_iqr", "output_vs_population", "creation_burst_share",
    "new_model_share", "new_model_excess", "new_model_lag_hours",
]
#: Candidate features computed in this script from the raw events and accounts.
CANDIDATE_FEATURES = [
    "sync_exit_share", "sync_exit_share_5m", "exits_per_account_day", "exit_accounts_median",
    "creation_iqr_days", "anchor_domain_share", "device_per_account", "payment_shared_share",
    "account_share", "event_share", "log_n_accounts",
]


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties counted half; NaN if a side is empty."""
    pos = pos[np.isfinite(pos)]
    neg = neg[np.isfinite(neg)]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([pos, neg]))
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _window_share(ev: Any, seconds: int) -> Any:
    """Per cluster: share of events whose (exit, time window) another account of the cluster also used."""
    win = ev["ts"] // seconds
    key = ev[["cluster_id", "ip"]].assign(win=win)
    n_acc = key.assign(a=ev["account_id"]).groupby(["cluster_id", "ip", "win"], sort=False)["a"].transform("nunique")
    return (n_acc > 1).groupby(ev["cluster_id"]).mean()


def candidate_features(events: Any, accounts: Any, assign: Any) -> Any:
    """Candidate per-cluster features from raw events (pandas, vectorised group-bys).

    Parameters
    ----------
    events : pandas.DataFrame
        ``account_id``, ``timestamp``, ``ip``, ``device_id``, ``payment_id``.
    accounts : pandas.DataFrame
        ``account_id``, ``created_at``, ``email_domain``, ``payment_id``.
    assign : pandas.DataFrame
        ``account_id``, ``cluster_id`` (``detect(...).assignments``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``cluster_id``, one column per name in :data:`CANDIDATE_FEATURES`.
    """
    import pandas as pd

    cl = assign.set_index("account_id")["cluster_id"]
    ev = events.assign(cluster_id=events["account_id"].map(cl).fillna(-1).astype(np.int64))
    ev = ev[ev["cluster_id"] >= 0]
    ev = ev.assign(ts=ev["timestamp"].astype("int64") // 1_000_000, day=lambda d: d["ts"] // 86_400)
    out = pd.DataFrame(index=pd.Index(np.unique(ev["cluster_id"]), name="cluster_id"))
    out["sync_exit_share"] = _window_share(ev, 60)
    out["sync_exit_share_5m"] = _window_share(ev, 300)
    per_acc = ev.groupby(["cluster_id", "account_id"], sort=False).agg(
        exits=("ip", "nunique"), days=("day", "nunique"))
    out["exits_per_account_day"] = (per_acc["exits"] / per_acc["days"]).groupby(level=0).median()
    exit_acc = ev.groupby(["cluster_id", "ip"], sort=False)["account_id"].nunique()
    out["exit_accounts_median"] = exit_acc.groupby(level=0).median()
    dev = ev.groupby("cluster_id")["device_id"].nunique()
    n_acc = ev.groupby("cluster_id")["account_id"].nunique()
    out["device_per_account"] = dev / n_acc
    acc = accounts.assign(cluster_id=accounts["account_id"].map(cl).fillna(-1).astype(np.int64))
    acc = acc[acc["cluster_id"] >= 0]
    cdays = acc["created_at"].astype("int64") / 86_400e6
    q = cdays.groupby(acc["cluster_id"]).quantile([0.25, 0.75]).unstack()
    out["creation_iqr_days"] = q[0.75] - q[0.25]
    dom_total = accounts["email_domain"].value_counts()
    dom_in = acc.groupby(["cluster_id", "email_domain"], sort=False).size().rename("n").reset_index()
    # a domain anchors a cluster when most of the domain's accounts are in this cluster
    dom_in["conc"] = dom_in["n"] / dom_in["email_domain"].map(dom_total).to_numpy()
    anchored = dom_in[dom_in["conc"] >= 0.5].groupby("cluster_id")["n"].max()
    out["anchor_domain_share"] = (anchored / acc.groupby("cluster_id").size()).reindex(out.index).fillna(0.0)
    pay = acc.dropna(subset=["payment_id"])
    pay_n = pay.groupby(["cluster_id", "payment_id"], sort=False)["account_id"].transform("size")
    out["payment_shared_share"] = ((pay_n > 1).groupby(pay["cluster_id"]).sum()
                                   / acc.groupby("cluster_id").size()).reindex(out.index).fillna(0.0)
    out["account_share"] = n_acc / len(accounts)
    out["event_share"] = ev.groupby("cluster_id").size() / len(events)
    out["log_n_accounts"] = np.log10(n_acc)
    return out


def _label(assign: Any, labels: Any) -> Any:
    """Per cluster: n accounts, share of ring members, majority kind and its label."""
    df = assign.merge(labels[["account_id", "kind", "ring_id"]], on="account_id", how="left")
    df = df[df["cluster_id"] >= 0]
    g = df.groupby("cluster_id")
    out = g.size().rename("n_accounts_true").to_frame()
    out["ring_share"] = g["kind"].apply(lambda k: float((k == "ring").mean()))
    out["majority_kind"] = g["kind"].agg(lambda k: k.value_counts().index[0])
    out["label"] = np.where(out["ring_share"] >= 0.5, "ring", np.where(out["ring_share"] <= 0.1, "benign", "mixed"))
    return out


def run_world(seed: int, a: argparse.Namespace) -> Any:
    """Detect on one world and return its per-cluster feature table."""
    import pandas as pd
    import pyarrow.parquet as pq

    import accountgraph
    from accountgraph.synth import random_scenario

    n_full = _n_accounts(random_scenario(seed))
    scale = float(f"{a.max_accounts / n_full:.4g}") if a.max_accounts and n_full > a.max_accounts else 1.0
    data, gen_s = _measure.ensure_dataset("random", a.data_root, seed=seed, scale=scale)
    cols = ["account_id", "timestamp", "ip", "device_id", "payment_id"]
    events = pq.read_table(data / "events.parquet", columns=cols).to_pandas()
    accounts = pq.read_table(data / "accounts.parquet").to_pandas()
    labels = pq.read_table(data / "labels.parquet").to_pandas()
    t0 = time.perf_counter()
    res = accountgraph.detect(data / "events.parquet", data / "accounts.parquet", seed=0)
    took = time.perf_counter() - t0
    assign = res.assignments[["account_id", "cluster_id", "flagged"]]
    # a world without a model release has no new-model columns: NaN, not a KeyError
    feats = res.clusters.set_index("cluster_id").reindex(
        columns=["n_accounts", "n_events", "flagged", *DETECT_FEATURES])
    feats = feats.join(candidate_features(events, accounts, assign)).join(_label(assign, labels))
    feats = feats[feats["n_accounts"] >= a.min_size].reset_index()
    feats.insert(0, "seed", seed)
    feats.insert(1, "scale", scale)
    feats.insert(2, "world_accounts", len(labels))
    feats.insert(3, "world_ring_accounts", int((labels["kind"] == "ring").sum()))
    logger.info("seed %d scale %g: %d clusters (%d ring, %d benign) in %.0f s (+%.0f s generation)",
                seed, scale, len(feats), int((feats.label == "ring").sum()),
                int((feats.label == "benign").sum()), took, gen_s)
    return pd.DataFrame(feats)


def separation(table: Any) -> Any:
    """Per feature: pooled AUC (ring vs benign clusters), per-world median and worst AUC."""
    import pandas as pd

    rows = []
    for f in DETECT_FEATURES + CANDIDATE_FEATURES:
        pos, neg = table[table.label == "ring"], table[table.label == "benign"]
        pooled = _auc(pos[f].to_numpy(float), neg[f].to_numpy(float))
        sign = 1.0 if not np.isfinite(pooled) or pooled >= 0.5 else -1.0
        per = []
        for _, w in table.groupby("seed"):
            p, n = w[w.label == "ring"][f].to_numpy(float), w[w.label == "benign"][f].to_numpy(float)
            v = _auc(sign * p, sign * n)
            if np.isfinite(v):
                per.append(v)
        rows.append({"feature": f, "source": "detect" if f in DETECT_FEATURES else "candidate",
                     "direction": "higher in rings" if sign > 0 else "lower in rings",
                     "auc_pooled": max(pooled, 1 - pooled) if np.isfinite(pooled) else float("nan"),
                     "auc_world_median": float(np.median(per)) if per else float("nan"),
                     "auc_world_min": float(np.min(per)) if per else float("nan"),
                     "n_worlds": len(per)})
    return pd.DataFrame(rows).sort_values("auc_world_min", ascending=False)


def _markdown(sep: Any, table: Any, a: argparse.Namespace, argv: list[str]) -> str:
    n_ring, n_benign = int((table.label == "ring").sum()), int((table.label == "benign").sum())
    lines = [
        "### Feature separation on the tuning worlds (ring vs benign clusters)", "",
        f"- Command: `python benchmarks/cluster_features.py {shlex.join(argv)}`",
        f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; revision {git_revision()}",
        f"- Machine: {machine_description()}",
        f"- Worlds: {table.seed.nunique()} tuning worlds ({', '.join(map(str, sorted(table.seed.unique())))}),"
        f" capped at {a.max_accounts or 'no'} accounts; clusters of at least {a.min_size} accounts:"
        f" {n_ring} ring (≥ 50 % ring members), {n_benign} benign (≤ 10 %),"
        f" {int((table.label == 'mixed').sum())} mixed (left out).",
        "- AUC = probability that a ring cluster ranks above a benign one on the feature (oriented"
        " by the pooled direction); per-world values only where a world has both kinds.", "",
        "| feature | source | direction | AUC pooled | AUC per world, median | worst world | worlds |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in sep.itertuples():
        lines.append(f"| `{r.feature}` | {r.source} | {r.direction} | {r.auc_pooled:.3f} |"
                     f" {r.auc_world_median:.3f} | {r.auc_world_min:.3f} | {r.n_worlds} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> Any:
    import pandas as pd

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--set", choices=["tuning"], help="seed set of PROTOCOL.md (evaluation is refused)")
    g.add_argument("--seeds", type=int, nargs="+")
    p.add_argument("--max-accounts", type=int, default=60_000)
    p.add_argument("--min-size", type=int, default=5)
    p.add_argument("--data-root", type=Path, default=Path("/tmp/synth-random/rw"))
    p.add_argument("--features", type=Path, required=True)
    p.add_argument("--out", type=Path)
    args_list = sys.argv[1:] if argv is None else argv
    a = p.parse_args(args_list)
    seeds = SEED_SETS["tuning"] if a.set else a.seeds
    if set(seeds) & HELD_OUT:
        p.error("evaluation worlds are only ever scored for reporting (PROTOCOL.md); use tuning seeds")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("accountgraph").setLevel(logging.WARNING)
    table = pd.concat([run_world(s, a) for s in seeds], ignore_index=True)
    a.features.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(a.features, index=False)
    sep = separation(table)
    md = _markdown(sep, table, a, args_list)
    if a.out:
        a.out.write_text(md)
    print(md)
    return sep


if __name__ == "__main__":
    main()
