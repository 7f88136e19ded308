"""Replay a synthetic world through ``accountgraph.Monitor``: how early is each ring flagged, at what cost?

Feeds a world written by ``accountgraph synth`` (``events.parquet``,
``accounts.parquet``, ``labels.parquet``) to one :class:`accountgraph.Monitor`
in time order: hour by hour for the first ``--hourly-days`` days, then day by
day. An accounts row is fed with the batch in which the account was created
(accounts created before the first event come with the first batch). After
each update it records the update's wall time, the process's peak RSS during
the update (``VmHWM`` reset before it), the state's size on disk and the
false-positive rates per population (:func:`accountgraph.metrics.evaluate`).
An account's first flag time is the *end of the batch window* of the update
that first flagged it (when that update could have run), so the reported
latencies are upper bounds at the batch resolution. Per ring: time from its
first exchange to its first flag and the share of its exchanges made before
(:func:`accountgraph.metrics.exchanges_before_first_flag`), and how stable its
identity was: at how many updates the monitor ring holding most of its accounts
differed from the one at the update before, both having one (``id changes``), and
the most monitor rings that each held at least 5 % of its accounts at one update
(``pieces max``). Per update, the
lineage rows of the update (``split``, ``merged``) count the churn of every ring.

Usage::

    python benchmarks/replay_monitor.py --data /tmp/monitor/s01 --out benchmarks/results/replay_monitor_s01.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import accountgraph
from accountgraph.metrics import evaluate, exchanges_before_first_flag

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_benchmarks import git_revision  # noqa: E402

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _windows(t0: pd.Timestamp, t1: pd.Timestamp, hourly_days: float) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    out, cut, lo = [], t0 + dt.timedelta(days=hourly_days), t0
    while lo <= t1:
        hi = lo + (HOUR if lo < cut else DAY)
        out.append((lo, hi))
        lo = hi
    return out


def _read_window(path: Path, lo: pd.Timestamp, hi: pd.Timestamp, ts_type: pa.DataType) -> pa.Table:
    return pq.read_table(path, filters=[("timestamp", ">=", pa.scalar(lo.to_pydatetime(), ts_type)),
                                        ("timestamp", "<", pa.scalar(hi.to_pydatetime(), ts_type))])


def _ring_identity(assignments: pd.DataFrame, ring_of: pd.Series) -> pd.DataFrame:
    """Per labelled ring: the monitor ring holding most of its accounts (-1: none) and its pieces (>= 5 %)."""
    a = assignments[["account_id", "ring_id"]]
    a = a.loc[a["account_id"].isin(ring_of.index) & (a["ring_id"] >= 0)]
    cnt = a.assign(label=ring_of.reindex(a["account_id"]).to_numpy()).groupby(["label", "ring_id"]).size()
    cnt = cnt.reset_index(name="n").sort_values(["label", "n", "ring_id"], ascending=[True, False, True])
    size = ring_of.value_counts()
    out = pd.DataFrame({"major": cnt.groupby("label")["ring_id"].first(),
                        "pieces": cnt.loc[cnt["n"] >= 0.05 * size.reindex(cnt["label"]).to_numpy()].groupby("label").size()})
    return out.reindex(size.index.sort_values()).fillna({"major": -1, "pieces": 0}).astype(np.int64)


def _identity_table(history: list[pd.DataFrame]) -> pd.DataFrame:
    """Per labelled ring over the updates: id changes of its majority ring (once it had one), most pieces.

    A change is counted between two consecutive updates that both have a majority ring: ring 3,
    then none, then ring 7 counts none.
    """
    if not history:
        return pd.DataFrame(columns=["id_changes", "pieces_max"])
    major = pd.concat([h["major"] for h in history], axis=1)
    pieces = pd.concat([h["pieces"] for h in history], axis=1).fillna(0)
    prev, cur = major.iloc[:, :-1].to_numpy(), major.iloc[:, 1:].to_numpy()
    changes = ((prev >= 0) & (cur >= 0) & (prev != cur)).sum(axis=1)
    return pd.DataFrame({"id_changes": changes, "pieces_max": pieces.max(axis=1).astype(np.int64)}, index=major.index)


def run(a: argparse.Namespace) -> dict[str, Any]:
    ev_path, ac_path = a.data / "events.parquet", a.data / "accounts.parquet"
    labels = pq.read_table(a.data / "labels.parquet").to_pandas()
    schema = pq.read_schema(ev_path)
    ts_type = schema.field("timestamp").type
    meta = pq.read_table(ev_path, columns=["timestamp"])["timestamp"]
    t0 = pd.Timestamp(pc.min(meta).as_py()).floor("D")
    t1 = pd.Timestamp(pc.max(meta).as_py())
    n_events_total = len(meta)
    del meta
    accounts = pq.read_table(ac_path)
    created = accounts["created_at"]
    if a.state.exists():
        shutil.rmtree(a.state)
    mon = accountgraph.Monitor(a.state, horizon_days=a.horizon_days, random_state=a.seed, progress=False)
    windows = _windows(t0, t1, a.hourly_days)
    if a.max_updates:
        windows = windows[: a.max_updates]
    first_flag: dict[str, pd.Timestamp] = {}
    ring_of = labels.loc[labels["kind"] == "ring"].set_index("account_id")["ring_id"]
    history: list[pd.DataFrame] = []
    rows = []
    for i, (lo, hi) in enumerate(windows):
        ev = _read_window(ev_path, lo, hi, ts_type)
        cmask = pc.less(created, pa.scalar(hi.to_pydatetime(), created.type))
        if i:
            cmask = pc.and_(cmask, pc.greater_equal(created, pa.scalar(lo.to_pydatetime(), created.type)))
        ac = accounts.filter(cmask)
        reset = _reset_peak()
        t, cpu = time.perf_counter(), time.process_time()
        up = mon.update(ev, ac if ac.num_rows else None)
        secs, cpu = time.perf_counter() - t, time.process_time() - cpu
        load = os.getloadavg()[0]
        peak = _status_kib("VmHWM") / 1024
        for acct in up.new_flags["account_id"]:
            first_flag.setdefault(acct, hi)
        m = evaluate(up.assignments, labels)
        history.append(_ring_identity(up.assignments, ring_of))
        rel = up.lineage["relation"] if len(up.lineage) else pd.Series([], dtype=object)
        rows.append({"update": up.seq, "lo": lo, "hi": hi, "events": ev.num_rows, "seconds": secs, "cpu": cpu,
                     "load": load,
                     "peak_mib": peak, "peak_reset": reset, "state_mib": _du(a.state) / 2**20,
                     "fpr_legit": m.fpr_legit, "fpr_enterprise": m.fpr_enterprise, "fpr_automation": m.fpr_automation,
                     "flagged": m.n_flagged, "tp": m.n_true_positive, "rings": len(up.rings),
                     "flagged_rings": int(up.rings["flagged"].sum()) if len(up.rings) else 0,
                     "stages": up.stats.get("seconds", {}), "region": up.stats.get("n_region", 0),
                     "rescored": up.stats.get("n_rescored", 0), "edges": up.stats.get("n_edges", 0),
                     "incidences": up.stats.get("n_incidences", 0),
                     "splits": int((rel == "split").sum()), "merges": int((rel == "merged").sum())})
        print(f"{i + 1}/{len(windows)} {lo:%m-%d %H:%M} ev={ev.num_rows:,} {secs:.2f}s cpu={cpu:.2f}s load={load:.1f} peak={peak:,.0f}MiB "
              f"state={rows[-1]['state_mib']:.0f}MiB fl={m.n_flagged} tp={m.n_true_positive} "
              f"fpr={m.fpr_legit:.5f}/{m.fpr_enterprise:.4f}/{m.fpr_automation:.4f} {up.stats.get('seconds')}",
              flush=True)
    ring_ids = labels.loc[labels["kind"] == "ring", "account_id"]
    ring_ev = pq.read_table(ev_path, columns=["account_id", "timestamp"],
                            filters=[("account_id", "in", ring_ids.tolist())])
    ff = pd.DataFrame({"account_id": list(first_flag), "first_flagged": list(first_flag.values())})
    per_ring = exchanges_before_first_flag(ring_ev, labels, ff)
    ident = _identity_table(history)
    per_ring = per_ring.join(ident, on="ring_id")
    return {"rows": rows, "per_ring": per_ring, "n_events": n_events_total, "n_accounts": len(labels),
            "windows": len(windows)}


def _md(a: argparse.Namespace, res: dict[str, Any], cmd: str) -> str:
    rev = git_revision()
    rows = pd.DataFrame(res["rows"])
    lines = [
        f"# Monitor replay: {a.title or a.data.name}",
        "",
        f"- Command: `{cmd}`",
        f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; revision {rev}; machine: 2 cores, 24 GiB "
        f"({platform.machine()}), Python {platform.python_version()}; the `load` column is the 1-minute load average at each update.",
        f"- World: {res['n_events']:,} events, {res['n_accounts']:,} labelled accounts; {res['windows']} updates "
        f"(hourly for the first {a.hourly_days:g} days, then daily); horizon {a.horizon_days} days; seed {a.seed}.",
        "- First flag time of an account = end of the window of the update that first flagged it (upper bound).",
        "",
        "## Per ring",
        "",
        "| ring | accounts | exchanges | ring start | first flagged | time to first flag | exchanges before flag | "
        "share before flag | id changes | pieces max |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["per_ring"].itertuples():
        ff = "never" if pd.isna(r.first_flagged) else f"{r.first_flagged:%Y-%m-%d %H:%M}"
        lines.append(f"| {r.ring_id} | {r.n_accounts:,} | {r.n_exchanges:,} | {r.ring_start:%Y-%m-%d %H:%M} | {ff} | "
                     f"{r.time_to_first_flag} | {r.exchanges_before_flag:,} | {r.share_before_flag:.4f} | "
                     f"{r.id_changes:.0f} | {r.pieces_max:.0f} |")
    d = rows.loc[rows["hi"] - rows["lo"] == DAY]
    h = rows.loc[rows["hi"] - rows["lo"] == HOUR]
    lines += ["", "## Summary over updates", "",
              "| updates | n | events (median) | wall s median | wall s max | CPU s median | CPU s max | peak RSS MiB max | "
              "state MiB at end | FPR legit max | FPR enterprise max | FPR automation max | splits | merges |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, part in (("hourly", h), ("daily", d), ("all", rows)):
        if len(part):
            lines.append(f"| {name} | {len(part)} | {part['events'].median():,.0f} | {part['seconds'].median():.2f} | "
                         f"{part['seconds'].max():.2f} | {part['cpu'].median():.2f} | {part['cpu'].max():.2f} | "
                         f"{part['peak_mib'].max():,.0f} | {part['state_mib'].iloc[-1]:,.0f} | "
                         f"{part['fpr_legit'].max():.5f} | {part['fpr_enterprise'].max():.5f} | "
                         f"{part['fpr_automation'].max():.5f} | {part['splits'].sum()} | {part['merges'].sum()} |")
    lines += ["", "## Every update", "",
              "| # | window start | events | wall s | CPU s | load | peak RSS MiB | state MiB | FPR legit | FPR ent | FPR auto | "
              "flagged | true pos | rings (flagged) | region | rescored | stage seconds |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows.itertuples():
        st = ", ".join(f"{k} {v:.1f}" for k, v in r.stages.items())
        lines.append(f"| {r.update} | {r.lo:%m-%d %H:%M} | {r.events:,} | {r.seconds:.2f} | {r.cpu:.2f} | {r.load:.1f} | "
                     f"{r.peak_mib:,.0f} | "
                     f"{r.state_mib:,.0f} | {r.fpr_legit:.5f} | {r.fpr_enterprise:.5f} | {r.fpr_automation:.5f} | "
                     f"{r.flagged:,} | {r.tp:,} | {r.rings:,} ({r.flagged_rings}) | {r.region:,} | {r.rescored:,} | {st} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="directory written by `accountgraph synth`")
    ap.add_argument("--state", type=Path, default=Path("/tmp/monitor/state"))
    ap.add_argument("--hourly-days", type=float, default=3.0)
    ap.add_argument("--horizon-days", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-updates", type=int, default=0)
    ap.add_argument("--title", default="")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--json", type=Path, help="also write the per-update rows as JSON")
    a = ap.parse_args()
    cmd = "python benchmarks/replay_monitor.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(a).items() if v not in (None, "", 0) and k != "json")
    res = run(a)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(_md(a, res, cmd))
    if a.json:
        a.json.write_text(json.dumps([{**r, "lo": str(r["lo"]), "hi": str(r["hi"])} for r in res["rows"]], indent=1))
    print(a.out.read_text()[:3000])


if __name__ == "__main__":
    main()
