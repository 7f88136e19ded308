"""Replay: how early is a ring caught?

Runs ``accountgraph.detect`` on growing prefixes of a synthetic scenario (all
events and accounts up to each cutoff, every ``--step-days``), takes each
account's first flag time as the first cutoff at which it was flagged, and
reports per ring the time from its first exchange to its first flag and the
share of its exchanges made before that moment
(:func:`accountgraph.metrics.exchanges_before_first_flag`).

Usage::

    python benchmarks/replay.py --scenario seed-2026-small --scale 0.05 --step-days 2 --out benchmarks/results/replay.md

(``seed-2026-small`` is the world called ``seed-2026`` before issue 13; ``replay.md`` was
measured on it. ``seed-2026`` is now the same ring among ~500k accounts.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

import accountgraph
from accountgraph.metrics import exchanges_before_first_flag
from accountgraph.synth import generate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="seed-2026-small")
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--step-days", type=float, default=2.0)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/replay.md"))
    a = ap.parse_args()

    ds = generate(a.scenario, seed=a.seed, scale=a.scale)
    ev, acc = ds.events, ds.accounts
    ts = ev["timestamp"]
    t0, t1 = pc.min(ts).as_py(), pc.max(ts).as_py()
    step = dt.timedelta(days=a.step_days)
    first_flag: dict[str, pd.Timestamp] = {}
    runs = []
    cut = t0 + step
    while cut <= t1 + step:
        m = pc.less(ts, pa.scalar(cut, ts.type))
        ev_c = ev.filter(m)
        acc_c = acc.filter(pc.less(acc["created_at"], pa.scalar(cut, acc["created_at"].type)))
        t = time.perf_counter()
        res = accountgraph.detect(ev_c, acc_c, seed=a.seed, progress=False)
        secs = time.perf_counter() - t
        fl = res.assignments.loc[res.assignments["flagged"], "account_id"]
        for acct in fl:
            first_flag.setdefault(acct, pd.Timestamp(cut))
        runs.append((cut, ev_c.num_rows, int(len(fl)), secs))
        cut += step
    ff = pd.DataFrame({"account_id": list(first_flag), "first_flagged": list(first_flag.values())})
    per_ring = exchanges_before_first_flag(ev, ds.labels, ff)

    lines = [
        f"# Replay: how early is a ring caught? ({a.scenario}, scale {a.scale})",
        "",
        f"- Command: `python benchmarks/replay.py --scenario {a.scenario} --scale {a.scale} --seed {a.seed} "
        f"--step-days {a.step_days} --out {a.out}`",
        f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; machine: 2 cores, 24 GiB "
        f"({platform.processor() or platform.machine()}), Python {platform.python_version()}",
        f"- detect (defaults, seed {a.seed}) on every prefix of the data up to each cutoff, every {a.step_days:g} days; "
        "an account's first flag time is the first cutoff at which it is flagged, so times are upper bounds "
        f"(resolution {a.step_days:g} days). A ring is first flagged when its first account is.",
        "",
        "| ring | accounts | exchanges | ring start | first flagged | time to first flag | exchanges before flag | share before flag |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in per_ring.itertuples():
        lines.append(
            f"| {r.ring_id} | {r.n_accounts:,} | {r.n_exchanges:,} | {r.ring_start:%Y-%m-%d %H:%M} | "
            f"{'never' if pd.isna(r.first_flagged) else f'{r.first_flagged:%Y-%m-%d %H:%M}'} | {r.time_to_first_flag} | "
            f"{r.exchanges_before_flag:,} | {r.share_before_flag:.3f} |"
        )
    lines += ["", "Prefix runs:", "", "| cutoff | events | flagged accounts | detect s |", "|---|---|---|---|"]
    lines += [f"| {c:%Y-%m-%d %H:%M} | {n:,} | {f:,} | {s:.1f} |" for c, n, f, s in runs]
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:12 + len(per_ring)]))


if __name__ == "__main__":
    main()
