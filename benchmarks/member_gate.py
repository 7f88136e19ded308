"""Account-level membership on the tuning worlds: what a member-score gate does to F1 and FPR.

Issue 11 asks that ``flagged`` need both a flagged cluster and the account's own
member score over a threshold. Before choosing a default, this measures, on the
tuning worlds only (``benchmarks/PROTOCOL.md``; evaluation seeds are refused),
``detect`` at its defaults once per world, then ``flagged & member_score >= g``
for each gate ``g`` (the same as ``scoring={"min_member_score": g}``, since the gate
changes nothing upstream), scored with :func:`accountgraph.metrics.evaluate`::

    .venv/bin/python benchmarks/member_gate.py --set tuning --max-accounts 60000 \\
        --data-root /tmp/synth-random/rw --out benchmarks/results/member_gate.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _measure  # noqa: E402
from random_worlds import SEED_SETS  # noqa: E402

GATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def _scale(seed: int, max_accounts: int | None) -> float:
    from random_worlds import _n_accounts

    from accountgraph.synth import random_scenario

    n_full = _n_accounts(random_scenario(seed))
    return float(f"{max_accounts / n_full:.4g}") if max_accounts and n_full > max_accounts else 1.0


def run_world(seed: int, a: argparse.Namespace) -> list[dict]:
    import pyarrow.parquet as pq

    import accountgraph
    from accountgraph.metrics import evaluate

    data, _ = _measure.ensure_dataset("random", a.data_root, seed=seed, scale=_scale(seed, a.max_accounts))
    labels = pq.read_table(data / "labels.parquet").to_pandas()
    res = accountgraph.detect(data / "events.parquet", data / "accounts.parquet", seed=0)
    rows = []
    for g in GATES:
        asg = res.assignments.copy()
        asg["flagged"] = asg["flagged"] & (asg["member_score"] >= g)
        m = evaluate(asg, labels)
        rows.append({"seed": seed, "gate": g, "f1": m.f1, "precision": m.precision, "recall": m.recall,
                     "fpr_legit": m.fpr_legit, "fpr_enterprise": m.fpr_enterprise, "fpr_automation": m.fpr_automation,
                     "ring_recall": m.ring_recall})
    print(rows[0], rows[-1], flush=True)
    return rows


def _nanmax(xs):
    xs = [x for x in xs if x == x]
    return max(xs) if xs else float("nan")


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--set", choices=["tuning"], default="tuning")
    p.add_argument("--max-accounts", type=int, default=60_000)
    p.add_argument("--data-root", type=Path, default=Path("/tmp/synth-random/rw"))
    p.add_argument("--out", type=Path)
    args_list = sys.argv[1:] if argv is None else argv
    a = p.parse_args(args_list)
    rows = [r for s in SEED_SETS[a.set] for r in run_world(s, a)]
    rev = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    lines = [
        "### Member-score gate on the tuning worlds (issue 11 groundwork)",
        "",
        f"- Command: `python benchmarks/member_gate.py {shlex.join(args_list)}`",
        f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; revision {rev}",
        f"- Machine: 2 cores, 24 GiB RAM, Python {platform.python_version()}, shared",
        f"- Worlds: the {len(SEED_SETS[a.set])} tuning worlds, capped at {a.max_accounts} accounts; detect at its defaults "
        "once per world, then `flagged & member_score >= gate`. Tuning worlds only: not an evaluation result.",
        "",
        "| gate | F1 median | F1 worst | recall median | ring recall median | FPR legit worst | FPR enterprise worst | "
        "FPR automation worst | worlds with legit FPR > 0.1 % |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for g in GATES:
        r = [x for x in rows if x["gate"] == g]
        lines.append(
            f"| {g:g} | {statistics.median(x['f1'] for x in r):.3f} | {min(x['f1'] for x in r):.3f} | "
            f"{statistics.median(x['recall'] for x in r):.3f} | {statistics.median(x['ring_recall'] for x in r):.3f} | "
            f"{_nanmax(x['fpr_legit'] for x in r):.4%} | {_nanmax(x['fpr_enterprise'] for x in r):.4%} | "
            f"{_nanmax(x['fpr_automation'] for x in r):.4%} | {sum(x['fpr_legit'] > 0.001 for x in r)} / {len(r)} |")
    lines += ["", "Per world, F1 / legit FPR at gate 0 and at each gate:", "",
              "| seed | " + " | ".join(f"gate {g:g}" for g in GATES) + " |",
              "|---|" + "---:|" * len(GATES)]
    for s in SEED_SETS[a.set]:
        r = {x["gate"]: x for x in rows if x["seed"] == s}
        lines.append(f"| {s} | " + " | ".join(f"{r[g]['f1']:.3f} / {r[g]['fpr_legit']:.3%}" for g in GATES) + " |")
    md = "\n".join(lines) + "\n"
    if a.out:
        a.out.write_text(md)
    print(md)
    return rows


if __name__ == "__main__":
    main()
