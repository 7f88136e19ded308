"""Agreement of a Monitor fed day by day with ``detect`` on the whole data (horizon off).

For each world written by ``accountgraph synth``: ``detect`` on all of it, and a
``Monitor(horizon_days=None)`` fed one day at a time (accounts rows with the day they
were created). Reports the F1 between the two flagged sets, both F1s against the
labels, and the monitor's total update time.

Usage::

    python benchmarks/monitor_agreement.py /tmp/monitor/rand1000 /tmp/monitor/rand1001 --out agreement.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

import accountgraph
from accountgraph.metrics import evaluate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_benchmarks import git_revision  # noqa: E402
from random_worlds import HELD_OUT  # noqa: E402


def provenance(d: Path) -> str:
    """``held out`` for an evaluation seed of ``PROTOCOL.md``, else ``tuning`` (hand-made scenarios count as tuning)."""
    p = json.loads((d / "params.json").read_text()) if (d / "params.json").exists() else {}
    held = str(p.get("scenario", "")).startswith("random") and p.get("seed") in HELD_OUT
    return "held out" if held else "tuning"


def one(d: Path) -> dict:
    ev = pq.read_table(d / "events.parquet").to_pandas()
    ac = pq.read_table(d / "accounts.parquet").to_pandas()
    labels = pq.read_table(d / "labels.parquet").to_pandas()
    t = time.perf_counter()
    batch = accountgraph.detect(d / "events.parquet", d / "accounts.parquet", seed=0, progress=False).assignments
    t_batch = time.perf_counter() - t
    day = ev["timestamp"].dt.floor("D")
    made = ac["created_at"].dt.floor("D").clip(lower=day.min())
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as state:
        mon = accountgraph.Monitor(state, horizon_days=None, random_state=0, progress=False)
        for d_ in sorted(day.unique()):
            up = mon.update(ev[day == d_], ac[made == d_])
    t_mon = time.perf_counter() - t
    fb = set(batch.loc[batch["flagged"], "account_id"])
    fm = set(up.assignments.loc[up.assignments["flagged"], "account_id"])
    return {"world": d.name, "events": len(ev), "days": int(day.nunique()), "detect_flagged": len(fb),
            "monitor_flagged": len(fm), "agreement_f1": 2 * len(fb & fm) / max(len(fb) + len(fm), 1),
            "detect_f1": evaluate(batch, labels).f1, "monitor_f1": evaluate(up.assignments, labels).f1,
            "detect_s": t_batch, "monitor_s": t_mon, "set": provenance(d)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    rows = [one(d) for d in a.data]
    rev = git_revision()
    lines = [
        "# Monitor fed day by day vs detect on the whole (horizon off)", "",
        f"- Command: `python benchmarks/monitor_agreement.py {' '.join(str(d) for d in a.data)} --out {a.out}`",
        f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; revision {rev}; 2 cores, 24 GiB, shared "
        "(times pessimistic).", "",
        f"- Worlds: {', '.join(sorted({r['set'] for r in rows}))} (`PROTOCOL.md`; hand-made scenarios count as "
        "tuning). Worst case: agreement F1 "
        f"{min(r['agreement_f1'] for r in rows):.3f} ({min(rows, key=lambda r: r['agreement_f1'])['world']}), "
        f"median {statistics.median(r['agreement_f1'] for r in rows):.3f}.", "",
        "| world | set | events | days | detect flagged | monitor flagged | agreement F1 | detect F1 (labels) | "
        "monitor F1 (labels) | detect s | monitor s (all days) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['world']} | {r['set']} | {r['events']:,} | {r['days']} | {r['detect_flagged']:,} | "
                     f"{r['monitor_flagged']:,} | {r['agreement_f1']:.3f} | {r['detect_f1']:.3f} | {r['monitor_f1']:.3f} | "
                     f"{r['detect_s']:.1f} | {r['monitor_s']:.1f} |")
    a.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
