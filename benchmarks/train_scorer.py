"""Does a fitted ring model transfer across worlds? Leave-one-world-out on the tuning worlds.

Reads the cluster table written by ``benchmarks/cluster_features.py`` (tuning worlds
only) and compares, world by world, three ways of flagging a cluster:

* ``current``: today's ``ring_score >= 0.45`` (hand-weighted ramps, fixed threshold);
* ``logit-detect``: :func:`accountgraph.scoring._model.fit_logistic` on the features
  ``detect`` already computes;
* ``logit-all``: the same on those plus the candidate features of ``cluster_features.py``.

Each model is fitted on all worlds but the one it is scored on (leave one world out), and
its threshold is the lowest score at which the *training* worlds' benign accounts flagged
stay within ``--target-fpr`` of their accounts (pooled). Scored on the held-out world:
ring accounts in flagged clusters / ring accounts in the world (recall) and non-ring
accounts in flagged clusters / non-ring accounts in the world (FPR); accounts are
credited by their cluster's ground-truth ring share. This measures transfer *between
tuning worlds*; it is not an evaluation-set result::

    .venv/bin/python benchmarks/train_scorer.py /tmp/cluster_features_tuning.parquet \\
        --out benchmarks/results/scorer_lowo.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from cluster_features import CANDIDATE_FEATURES, DETECT_FEATURES  # noqa: E402
from run_benchmarks import git_revision, machine_description  # noqa: E402

from accountgraph.scoring._model import fit_logistic  # noqa: E402

FEATURE_SETS = {
    "logit-detect": [f for f in DETECT_FEATURES if f != "ring_score"],
    "logit-all": [f for f in DETECT_FEATURES if f != "ring_score"] + CANDIDATE_FEATURES,
}


def _weights(t: Any) -> np.ndarray:
    """sqrt(accounts) per cluster, rescaled so every world and class weighs the same in total."""
    w = np.sqrt(t["n_accounts"].to_numpy(float))
    key = t["seed"].astype(str) + t["label"]
    tot = t.assign(w=w).groupby(key)["w"].transform("sum").to_numpy()
    return w / tot


def _threshold(score: np.ndarray, t: Any, target_fpr: float) -> float:
    """Lowest cut whose flagged benign accounts stay within target_fpr of the non-ring accounts."""
    fp_acc = (t["n_accounts"] * (1 - t["ring_share"])).to_numpy(float)
    benign_total = float((t.groupby("seed")["world_accounts"].first()
                          - t.groupby("seed")["world_ring_accounts"].first()).sum())
    order = np.argsort(-score, kind="stable")
    cum = np.cumsum(fp_acc[order]) / benign_total
    ok = np.nonzero(cum <= target_fpr)[0]
    if len(ok) == 0:
        return float(score[order[0]] + 1e-9)
    last = ok[-1]
    return float(score[order[last]])


def _scores(t: Any, flagged: np.ndarray) -> dict[str, float]:
    n = t["n_accounts"].to_numpy(float)
    rs = t["ring_share"].to_numpy(float)
    ring_total = float(t["world_ring_accounts"].iloc[0])
    benign_total = float(t["world_accounts"].iloc[0]) - ring_total
    tp = float((n * rs)[flagged].sum())
    fp = float((n * (1 - rs))[flagged].sum())
    recall = tp / ring_total if ring_total else float("nan")
    precision = tp / (tp + fp) if tp + fp else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"recall": recall, "precision": precision, "f1": f1, "fpr": fp / benign_total}


def lowo(table: Any, target_fpr: float, l2: float) -> Any:
    """Per held-out world, the scores of every method."""
    import pandas as pd

    fit_rows = table[table.label != "mixed"]
    rows = []
    for seed, held in table.groupby("seed"):
        rows.append({"seed": seed, "method": "current", **_scores(held, held["flagged"].to_numpy(bool))})
        train = fit_rows[fit_rows.seed != seed]
        for name, feats in FEATURE_SETS.items():
            model = fit_logistic(train[feats].to_numpy(float), (train.label == "ring").to_numpy(float),
                                 features=feats, sample_weight=_weights(train), l2=l2)
            cut = _threshold(model.decision_function(train[feats].to_numpy(float)), train, target_fpr)
            score = model.decision_function(held[feats].to_numpy(float))
            rows.append({"seed": seed, "method": name, **_scores(held, score >= cut)})
    return pd.DataFrame(rows)


def _markdown(res: Any, table: Any, a: argparse.Namespace, argv: list[str]) -> str:
    lines = ["### Ring scorer transfer: leave one tuning world out", "",
             f"- Command: `python benchmarks/train_scorer.py {shlex.join(argv)}`",
             f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; revision {git_revision()}",
             f"- Machine: {machine_description()}",
             f"- Input: {table.seed.nunique()} tuning worlds' clusters (≥ 5 accounts) from"
             f" `cluster_features.py`; model threshold set on the training worlds for a pooled benign"
             f" account FPR of {a.target_fpr:g}; L2 {a.l2:g}. Cluster-level crediting (an account counts as"
             " ring by its cluster's ring share), so these are not `metrics.evaluate` figures.", "",
             "| method | F1 median | F1 worst | recall median | FPR median | FPR worst | worlds FPR > 0.1 % |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for m, g in res.groupby("method", sort=False):
        lines.append(f"| {m} | {g.f1.median():.3f} | {g.f1.min():.3f} | {g.recall.median():.3f} |"
                     f" {g.fpr.median():.4%} | {g.fpr.max():.4%} | {int((g.fpr > 0.001).sum())} / {len(g)} |")
    lines += ["", "Per world (F1 / FPR):", "", "| seed | " + " | ".join(res.method.unique()) + " |",
              "|---|" + "---:|" * res.method.nunique()]
    for seed, g in res.groupby("seed"):
        cells = [f"{r.f1:.3f} / {r.fpr:.3%}" for r in g.itertuples()]
        lines.append(f"| {seed} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> Any:
    import pandas as pd

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("features", type=Path, help="Parquet written by cluster_features.py --features")
    p.add_argument("--target-fpr", type=float, default=0.001)
    p.add_argument("--l2", type=float, default=1.0)
    p.add_argument("--out", type=Path)
    args_list = sys.argv[1:] if argv is None else argv
    a = p.parse_args(args_list)
    table = pd.read_parquet(a.features)
    res = lowo(table, a.target_fpr, a.l2)
    md = _markdown(res, table, a, args_list)
    if a.out:
        a.out.write_text(md)
    print(md)
    return res


if __name__ == "__main__":
    main()
