"""Fit the ring model on the tuning worlds, set its thresholds out of fold, and ship it.

Reads the snapshots written by ``benchmarks/world_snapshots.py`` (tuning worlds only: every
cluster's features, every account's cluster, member score and ground truth), then

1. **leave one world out**: for each tuning world, fits the model on the other worlds and
   scores the held-out world's clusters (out-of-fold scores: no world is scored by a model
   that saw it);
2. **threshold table**: for each target benign false-positive rate ``f``, the lowest
   ``ring_score`` threshold at which, on the out-of-fold scores, *every* tuning world keeps
   legitimate individuals within ``f`` and enterprise and automation accounts within
   ``10 f`` (accounts below the membership gate are never flagged);
3. fits the model on all tuning worlds and writes it with that table as
   ``src/accountgraph/scoring/ring_model.json`` (``--model-out``), and
4. writes a report (``--out``): coefficients, the table, and per-world account-level
   precision, recall, F1 and false-positive rates of the out-of-fold scores at the default
   target, with the worst world. These are **tuning-world** figures (cross-validated); the
   quality claim is the evaluation set (``benchmarks/random_worlds.py --set evaluation``).

Usage::

    .venv/bin/python benchmarks/train_scorer.py --snapshots /tmp/snapshots \\
        --model-out src/accountgraph/scoring/ring_model.json --out benchmarks/results/scorer_training.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from random_worlds import SEED_SETS, HELD_OUT  # noqa: E402
from run_benchmarks import git_revision, machine_description  # noqa: E402

from accountgraph.scoring import LogisticModel, RingModel, ScoringParams, apply_model, fit_logistic  # noqa: E402

#: (feature, transform, component, direction) of the ring model; direction +1: higher is more
#: ring-like, -1: lower is, 0: either (the fit keeps every coefficient on its side, or at 0).
FEATURES: list[tuple[str, str, str, int]] = [
    ("circadian_quiet_share", "identity", "timing", 1),
    ("weekly_quiet_share", "identity", "timing", 1),
    ("active_day_share", "identity", "cadence", 1),
    ("rate_vs_population", "log2", "cadence", 1),
    ("template_shared_share", "identity", "templates", 1),
    ("template_top3_share", "identity", "templates", 1),
    ("template_exclusive_share", "identity", "templates", 1),
    ("output_vs_population", "log2", "output", 1),
    ("output_rel_iqr", "identity", "output", -1),
    ("creation_burst_share", "identity", "creation", 1),
    ("new_model_excess", "identity", "pivot", 1),
    ("exits_per_account_day", "log2", "infrastructure", 1),
    ("ip_top_share", "identity", "infrastructure", -1),
    ("sync_share", "identity", "infrastructure", 0),
]
#: One standard unit per transform: a quarter of a share, one doubling of a ratio.
UNITS = {"identity": 0.25, "log2": 1.0}
TARGETS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
DEFAULT_TARGET = 1e-3
KINDS = ("legit", "enterprise", "automation")


@dataclass
class World:
    seed: int
    clusters: pd.DataFrame  # one row per cluster_id (features, n_accounts, ring_share, label)
    accounts: pd.DataFrame  # account_id, cluster_id, member_score, kind, ring_id
    meta: dict[str, Any]


def load(root: Path, seeds: list[int]) -> list[World]:
    """Snapshots of ``seeds`` with each cluster's share of ring accounts and its label."""
    worlds = []
    for s in seeds:
        d = root / str(s)
        if not (d / "meta.json").exists():
            print(f"seed {s}: no snapshot in {d}, skipped", file=sys.stderr)
            continue
        cl = pd.read_parquet(d / "clusters.parquet").sort_values("cluster_id").reset_index(drop=True)
        acc = pd.read_parquet(d / "accounts.parquet")
        inside = acc[acc.cluster_id >= 0]
        share = (inside.kind == "ring").groupby(inside.cluster_id).mean()
        cl["ring_share"] = cl["cluster_id"].map(share).fillna(0.0).to_numpy()
        cl["label"] = np.where(cl.ring_share >= 0.5, "ring", np.where(cl.ring_share <= 0.1, "benign", "mixed"))
        worlds.append(World(s, cl, acc, json.loads((d / "meta.json").read_text())))
    return worlds


#: Evidence a ring can imitate or hide (mimicked timing, aged accounts, camouflage prompts, broad
#: outputs, no pivot, human cadence); ``--augment`` teaches the model that any of it may look benign.
MIMICABLE = ("timing", "cadence", "templates", "output", "creation", "pivot")


def _mimic(c: pd.DataFrame, k: int, p: float, rng: np.random.Generator) -> pd.DataFrame:
    """``k`` copies of each ring cluster in which each mimicable component is, with probability ``p``,
    replaced by the values of a random benign cluster of the same world (all of that component's features)."""
    ring, benign = c[c.label == "ring"], c[c.label == "benign"]
    if ring.empty or benign.empty or k <= 0:
        return c.iloc[:0]
    copies = []
    for _ in range(k):
        x = ring.copy()
        for comp in MIMICABLE:
            cols = [f for f, _, cc, _ in FEATURES if cc == comp]
            hit = rng.random(len(x)) < p
            if hit.any():
                donor = benign.iloc[rng.integers(0, len(benign), int(hit.sum()))]
                x.loc[x.index[hit], cols] = donor[cols].to_numpy()
        copies.append(x)
    return pd.concat(copies)


def _training_rows(worlds: list[World], augment: int = 0,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Design matrix, labels and weights: clusters of >= 3 accounts that are clearly ring or benign.

    Each cluster weighs sqrt(its accounts); every world's ring and benign sides each sum to 1
    (mimicry copies of ring clusters, ``augment`` per ring cluster, share the ring side's weight).
    """
    proto = _model_shell()
    rng = np.random.default_rng(seed)
    xs, ys, ws = [], [], []
    for w in worlds:
        c = w.clusters[(w.clusters.n_accounts >= 3) & (w.clusters.label != "mixed") & (w.clusters.n_events > 0)]
        if c.empty:
            continue
        c = pd.concat([c, _mimic(c, augment, 0.4, rng)], ignore_index=True)
        y = (c.label == "ring").to_numpy(float)
        wt = np.sqrt(c.n_accounts.to_numpy(float))
        for lab in (0.0, 1.0):
            m = y == lab
            if m.any():
                wt[m] /= wt[m].sum()
        xs.append(proto.design(c))
        ys.append(y)
        ws.append(wt)
    return np.vstack(xs), np.concatenate(ys), np.concatenate(ws)


def _model_shell() -> RingModel:
    n = len(FEATURES)
    lg = LogisticModel(tuple(f[0] for f in FEATURES), np.zeros(n), np.ones(n), np.zeros(n), 0.0)
    return RingModel(lg, tuple(f[1] for f in FEATURES), tuple(f[2] for f in FEATURES), {})


CLIP = [4.0]  # bound on |z| per feature; set from --clip


def fit(worlds: list[World], l2: float, meta: dict[str, Any] | None = None, augment: int = 0) -> RingModel:
    """The ring model fitted on ``worlds`` (no threshold table yet)."""
    x, y, w = _training_rows(worlds, augment)
    shell = _model_shell()
    units = np.array([UNITS[f[1]] for f in FEATURES])
    lg = fit_logistic(x, y, features=shell.features, sample_weight=w, l2=l2, meta=meta or {},
                      signs=np.array([f[3] for f in FEATURES], np.float64), scale=units, clip=CLIP[0])
    return RingModel(lg, shell.transforms, shell.components, {})


def scores(model: RingModel, world: World) -> np.ndarray:
    """``ring_score`` per cluster of ``world`` under ``model`` (gates at their defaults)."""
    out = apply_model(world.clusters, len(world.accounts), ScoringParams(), model)
    return out["ring_score"].to_numpy(float)


def account_scores(world: World, cluster_score: np.ndarray, gate: float) -> np.ndarray:
    """Each account's effective score: its cluster's, or 0 outside clusters and below the gate."""
    cid = world.accounts.cluster_id.to_numpy()
    s = np.where(cid >= 0, cluster_score[np.maximum(cid, 0)], 0.0)
    return np.where(world.accounts.member_score.to_numpy(float) >= gate, s, 0.0)


def metrics(world: World, acc_score: np.ndarray, t: float) -> dict[str, float]:
    """Account-level P, R, F1, FPR by population and ring recall (>= 80 % flagged; rings >= 20)."""
    a = world.accounts
    fl = acc_score > t
    ring = (a.kind == "ring").to_numpy()
    tp, fp = int((fl & ring).sum()), int((fl & ~ring).sum())
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / ring.sum() if ring.any() else 1.0
    out = {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}
    for k in KINDS:
        m = (a.kind == k).to_numpy()
        out[f"fpr_{k}"] = float(fl[m].mean()) if m.any() else 0.0
    rg = a[ring].assign(fl=fl[ring]).groupby("ring_id")["fl"].agg(["mean", "size"])
    big = rg[rg["size"] >= 20]
    out["ring_recall20"] = float((big["mean"] >= 0.8).mean()) if len(big) else float("nan")
    return out


def _world_threshold(world: World, acc_score: np.ndarray, target: float) -> float:
    """Lowest threshold keeping this world's legit FPR <= target and the other benign kinds <= 10 target."""
    need = 0.0
    for k, f in (("legit", target), ("enterprise", 10 * target), ("automation", 10 * target)):
        s = np.sort(acc_score[(world.accounts.kind == k).to_numpy()])[::-1]
        allowed = int(np.floor(f * len(s) + 1e-9))
        if allowed < len(s):
            need = max(need, float(s[allowed]))
    return need


def out_of_fold(worlds: list[World], l2: float, augment: int = 0) -> tuple[dict[int, np.ndarray], dict[int, RingModel]]:
    """Cluster scores of each world under the model fitted on all the other worlds (and those models)."""
    models = {w.seed: fit([v for v in worlds if v.seed != w.seed], l2, augment=augment) for w in worlds}
    return {w.seed: scores(models[w.seed], w) for w in worlds}, models


def threshold_table(worlds: list[World], oof: dict[int, np.ndarray], gate: float) -> dict[float, float]:
    """Per target: the max over worlds of the world's lowest compliant threshold (out of fold)."""
    acc = {w.seed: account_scores(w, oof[w.seed], gate) for w in worlds}
    return {f: max(_world_threshold(w, acc[w.seed], f) for w in worlds) for f in TARGETS}


def _fmt(v: float) -> str:
    return "nan" if v != v else f"{v:.4f}" if abs(v) < 0.1 else f"{v:.3f}"


def report(worlds: list[World], model: RingModel, oof: dict[int, np.ndarray], table: dict[float, float], gate: float,
           argv: list[str]) -> str:
    t = table[DEFAULT_TARGET]
    rows = [{"seed": w.seed, "accounts": len(w.accounts), **metrics(w, account_scores(w, oof[w.seed], gate), t)}
            for w in worlds]
    df = pd.DataFrame(rows)
    cols = ["precision", "recall", "f1", "fpr_legit", "fpr_enterprise", "fpr_automation", "ring_recall20"]
    worst = {c: (df[c].min() if c in ("precision", "recall", "f1", "ring_recall20") else df[c].max()) for c in cols}
    lg = model.logistic
    lines = [
        "# Ring model: training on the tuning worlds, leave-one-world-out", "",
        f"- Command: `python benchmarks/train_scorer.py {shlex.join(argv)}`",
        f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; revision {git_revision()}",
        f"- Machine: {machine_description()}",
        f"- Worlds: {len(worlds)} **tuning** worlds ({', '.join(str(w.seed) for w in worlds)}); snapshot scales "
        f"{sorted({w.meta['scale'] for w in worlds})}. Every figure below is on tuning worlds, cross-validated "
        "(each world scored by a model fitted without it); it is not the quality claim.",
        f"- Membership gate {gate}; threshold for target {DEFAULT_TARGET:g}: **{t:.4f}**.", "",
        "## Threshold table (out of fold: every tuning world within the target)", "",
        "| target legit FPR | enterprise / automation ≤ | threshold |", "|---:|---:|---:|",
        *[f"| {f:g} | {10 * f:g} | {v:.4f} |" for f, v in table.items()], "",
        "## Coefficients (model fitted on all tuning worlds; log-odds per robust standard unit)", "",
        "| feature | transform | component | centre | scale | coefficient |", "|---|---|---|---:|---:|---:|",
        *[f"| `{n}` | {tr} | {c} | {ce:.4g} | {sc:.4g} | {co:+.3f} |" for n, tr, c, ce, sc, co in
          zip(lg.features, model.transforms, model.components, lg.center, lg.scale, lg.coef)],
        f"| intercept | | | | | {lg.intercept:+.3f} |", "",
        "## Per world at the default target (out of fold)", "",
        "| seed | accounts | " + " | ".join(cols) + " |", "|---:|---:|" + "---:|" * len(cols),
        *[f"| {r.seed} | {r.accounts:,} | " + " | ".join(_fmt(getattr(r, c)) for c in cols) + " |"
          for r in df.itertuples()],
        "| **worst** | | " + " | ".join(f"**{_fmt(worst[c])}**" for c in cols) + " |",
        "| median | | " + " | ".join(_fmt(float(df[c].median())) for c in cols) + " |", "",
    ]
    return "\n".join(lines)


def gate_sweep(worlds: list[World], oof: dict[int, np.ndarray], gates: tuple[float, ...]) -> str:
    """Per membership gate: its own out-of-fold threshold at the default target, worst and median results."""
    lines = ["## Membership gate (out of fold, each gate with its own threshold at the default target)", "",
             "| gate | threshold | F1 worst | F1 median | recall median | legit FPR worst | ent FPR worst |"
             " auto FPR worst | ring recall ≥20 worst |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for g in gates:
        t = threshold_table(worlds, oof, g)[DEFAULT_TARGET]
        df = pd.DataFrame([metrics(w, account_scores(w, oof[w.seed], g), t) for w in worlds])
        lines.append(f"| {g:g} | {t:.4f} | {df.f1.min():.3f} | {df.f1.median():.3f} | {df.recall.median():.3f} |"
                     f" {df.fpr_legit.max():.4%} | {df.fpr_enterprise.max():.3%} | {df.fpr_automation.max():.3%} |"
                     f" {df.ring_recall20.min():.3f} |")
    return "\n".join(lines) + "\n"


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """ROC AUC by the rank-sum formula, ties half; NaN if a side is empty."""
    from scipy.stats import rankdata

    pos, neg = pos[np.isfinite(pos)], neg[np.isfinite(neg)]
    if not len(pos) or not len(neg):
        return float("nan")
    r = rankdata(np.r_[pos, neg])
    return float((r[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def separation(worlds: list[World]) -> str:
    """Per feature: AUC of ring vs benign clusters (>= 5 accounts), pooled and in the worst world."""
    lines = ["## Separation of each feature (ring vs benign clusters of >= 5 accounts, before any fitting)", "",
             "| feature | component | direction | AUC pooled | AUC median world | AUC worst world |",
             "|---|---|---|---:|---:|---:|"]
    c = pd.concat([w.clusters.assign(seed=w.seed) for w in worlds], ignore_index=True)
    c = c[(c.n_accounts >= 5) & (c.label != "mixed")]
    rows = []
    for f, _, comp, _ in FEATURES:
        pooled = _auc(c[c.label == "ring"][f].to_numpy(float), c[c.label == "benign"][f].to_numpy(float))
        sign = 1.0 if not np.isfinite(pooled) or pooled >= 0.5 else -1.0
        per = [v for _, g in c.groupby("seed") if np.isfinite(v := _auc(
            sign * g[g.label == "ring"][f].to_numpy(float), sign * g[g.label == "benign"][f].to_numpy(float)))]
        rows.append((f, comp, "higher in rings" if sign > 0 else "lower in rings", max(pooled, 1 - pooled),
                     float(np.median(per)) if per else np.nan, float(np.min(per)) if per else np.nan))
    for r in sorted(rows, key=lambda r: -np.nan_to_num(r[5])):
        lines.append(f"| `{r[0]}` | {r[1]} | {r[2]} | {r[3]:.3f} | {r[4]:.3f} | {r[5]:.3f} |")
    return "\n".join(lines) + "\n"


def mimicry_stress(worlds: list[World], models: dict[int, RingModel], gate: float, t: float) -> str:
    """Recall if every ring cluster imitated one component (its features set to its world's median benign cluster).

    Out of fold (each world scored by the model fitted without it), at the default threshold:
    how much of the recall survives a ring that fakes human timing, aged accounts, camouflage
    prompts, broad outputs, no pivot or human cadence, one at a time.
    """
    lines = ["## Mimicry stress (out of fold): recall when every ring cluster imitates one component", "",
             "| imitated | pooled recall | worst-world recall |", "|---|---:|---:|"]
    for comp in ("none", *MIMICABLE, "infrastructure"):
        hit = tot = 0
        worst = 1.0
        for w in worlds:
            c = w.clusters.copy()
            if comp != "none":
                cols = [f[0] for f in FEATURES if f[2] == comp]
                ben = c[c.label == "benign"]
                if len(ben):
                    c.loc[c.label == "ring", cols] = ben[cols].median().to_numpy()
            sc = apply_model(c, len(w.accounts), ScoringParams(), models[w.seed])["ring_score"].to_numpy(float)
            acc = account_scores(w, sc, gate)
            ring = (w.accounts.kind == "ring").to_numpy()
            hit += int((acc[ring] > t).sum())
            tot += int(ring.sum())
            worst = min(worst, float((acc[ring] > t).mean()) if ring.any() else 1.0)
        lines.append(f"| {comp} | {hit / max(tot, 1):.3f} | {worst:.3f} |")
    return "\n".join(lines) + "\n"


def ceilings(worlds: list[World], gate: float) -> str:
    """Where each world's ring accounts are: no cluster, a benign/mixed cluster, a ring cluster (below the gate)."""
    lines = ["## Where the ring accounts are (the scorer's recall ceiling)", "",
             "| seed | ring accounts | in no cluster | in a mixed or benign cluster | in a ring cluster, member < gate |"
             " in a ring cluster, member >= gate (ceiling) |", "|---:|---:|---:|---:|---:|---:|"]
    for w in worlds:
        a = w.accounts[w.accounts.kind == "ring"]
        lab = a.cluster_id.map(w.clusters.set_index("cluster_id")["label"])
        none = (a.cluster_id < 0).mean()
        other = ((a.cluster_id >= 0) & (lab != "ring")).mean()
        low = ((lab == "ring") & (a.member_score < gate)).mean()
        ok = ((lab == "ring") & (a.member_score >= gate)).mean()
        lines.append(f"| {w.seed} | {len(a):,} | {none:.1%} | {other:.1%} | {low:.1%} | {ok:.1%} |")
    return "\n".join(lines) + "\n"


def hardest(worlds: list[World], oof: dict[int, np.ndarray], n: int = 15) -> str:
    """The highest-scoring benign and lowest-scoring ring clusters (out of fold), with their features."""
    rows = []
    for w in worlds:
        c = w.clusters.assign(score=oof[w.seed], seed=w.seed)
        kinds = w.accounts[w.accounts.cluster_id >= 0].groupby("cluster_id")["kind"].agg(
            lambda k: ",".join(f"{x}:{v}" for x, v in k.value_counts().items()))
        c["mix"] = c.cluster_id.map(kinds)
        rows.append(c[c.n_accounts >= 3])
    df = pd.concat(rows, ignore_index=True)
    feats = [f[0] for f in FEATURES]
    show = ["seed", "cluster_id", "n_accounts", "mix", "score", *feats]

    def table(d: pd.DataFrame) -> list[str]:
        out = ["| " + " | ".join(show) + " |", "|" + "---|" * len(show)]
        for r in d[show].itertuples(index=False):
            out.append("| " + " | ".join(_fmt(v) if isinstance(v, float) else str(v) for v in r) + " |")
        return out

    ben = df[df.label == "benign"].sort_values("score", ascending=False).head(n)
    ring = df[(df.label == "ring") & (df.n_accounts >= 10)].sort_values("score").head(n)
    return "\n".join(["## Highest-scoring benign clusters (out of fold)", "", *table(ben), "",
                      "## Lowest-scoring ring clusters of >= 10 accounts (out of fold)", "", *table(ring), ""])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--snapshots", type=Path, required=True)
    p.add_argument("--seeds", type=int, nargs="+", default=SEED_SETS["tuning"])
    p.add_argument("--l2", type=float, default=1.0)
    p.add_argument("--clip", type=float, default=4.0, help="bound on each standardised feature (units)")
    p.add_argument("--augment", type=int, default=0,
                   help="mimicry copies per ring cluster (each mimicable component swapped for a benign one w.p. 0.4)")
    p.add_argument("--gate", type=float, default=ScoringParams().min_member_score)
    p.add_argument("--model-out", type=Path)
    p.add_argument("--out", type=Path)
    args_list = sys.argv[1:] if argv is None else argv
    a = p.parse_args(args_list)
    if set(a.seeds) & HELD_OUT:
        p.error("evaluation worlds are never used for training (PROTOCOL.md)")
    CLIP[0] = a.clip
    worlds = load(a.snapshots, a.seeds)
    oof, models = out_of_fold(worlds, a.l2, a.augment)
    table = threshold_table(worlds, oof, a.gate)
    meta = {"trained_on": "tuning worlds " + ",".join(str(w.seed) for w in worlds),
            "command": "python benchmarks/train_scorer.py " + shlex.join(args_list),
            "revision": git_revision(), "l2": a.l2, "clip": a.clip, "augment": a.augment, "membership_gate": a.gate,
            "threshold_rule": "out-of-fold; every tuning world: legit FPR <= target, enterprise and automation "
                              "FPR <= 10 x target"}
    model = fit(worlds, a.l2, meta, a.augment)
    model = RingModel(model.logistic, model.transforms, model.components, table)
    md = report(worlds, model, oof, table, a.gate, args_list) + "\n" + gate_sweep(worlds, oof, (0.0, 0.25, 0.5, 0.6, 0.7, 0.8))
    md += "\n" + mimicry_stress(worlds, models, a.gate, table[DEFAULT_TARGET]) + "\n" + separation(worlds) + "\n" + ceilings(worlds, a.gate) + "\n" + hardest(worlds, oof)
    if a.model_out:
        model.to_json(a.model_out)
    if a.out:
        a.out.write_text(md)
    print(md)


if __name__ == "__main__":
    main()
