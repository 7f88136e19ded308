"""One monitor update from a saved state: wall time and peak memory per stage.

Copies a monitor state directory (one written by ``benchmarks/replay_monitor.py``),
reopens it, and feeds it one day of a world written by ``accountgraph synth`` (the
day's events, and the accounts created that day), as the replay would. Prints the
time ``Monitor.open`` took (every CLI call reopens the state), the update's wall time,
its per-stage seconds (``MonitorUpdate.stats``) and the peak resident memory of each
stage (``VmHWM``, reset at each stage boundary through ``/proc/self/clear_refs``),
before-apply being validation and what precedes it, after the last stage the commit. With ``--save`` the update's assignments are
written to Parquet, to compare two revisions' outputs.

Two revisions side by side (what ``benchmarks/results/monitor_graph_kernels.md`` ran)::

    for rev in OLD NEW; do git archive $rev src benchmarks | tar -x -C /tmp/$rev; done
    PYTHONPATH=/tmp/OLD/src python benchmarks/monitor_update_stages.py --state STATE --day 6 --save old.parquet
    PYTHONPATH=/tmp/NEW/src python benchmarks/monitor_update_stages.py --state STATE --day 6 --save new.parquet

alternating, each in a fresh process, after one small update per revision to warm numba's cache.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import accountgraph
import accountgraph.monitor._monitor as _monitor
import accountgraph.monitor._update as _update

sys.path.insert(0, str(Path(__file__).resolve().parent))
from replay_monitor import _read_window  # noqa: E402


def _hwm_mib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return 0


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/perf/seed2026"), help="directory written by `accountgraph synth`")
    ap.add_argument("--state", type=Path, required=True, help="monitor state directory (copied, never changed)")
    ap.add_argument("--day", type=int, required=True, help="day index of the batch (0 = the world's first day)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/monitor-update-stages"))
    ap.add_argument("--save", type=Path, help="write the update's assignments here (Parquet)")
    a = ap.parse_args()
    ev_path = a.data / "events.parquet"
    ts_type = pq.read_schema(ev_path).field("timestamp").type
    first = pc.min(pq.read_table(ev_path, columns=["timestamp"])["timestamp"]).as_py()
    lo = pd.Timestamp(first).floor("D") + pd.Timedelta(days=a.day)
    hi = lo + pd.Timedelta(days=1)
    ev = _read_window(ev_path, lo, hi, ts_type)
    accounts = pq.read_table(a.data / "accounts.parquet")
    c = accounts["created_at"]
    ac = accounts.filter(pc.and_(pc.less(c, pa.scalar(hi.to_pydatetime(), c.type)),
                                 pc.greater_equal(c, pa.scalar(lo.to_pydatetime(), c.type))))
    if a.work.exists():
        shutil.rmtree(a.work)
    shutil.copytree(a.state, a.work)
    t_open = time.perf_counter()
    mon = accountgraph.Monitor.open(a.work)
    t_open = time.perf_counter() - t_open

    laps: list[tuple[str, int]] = []
    lap, apply = _update._Clock.lap, _monitor.apply_update

    def timed_lap(self, name):  # type: ignore[no-untyped-def]
        lap(self, name)
        laps.append((name, _hwm_mib()))
        _reset_peak()

    def timed_apply(*args, **kw):  # type: ignore[no-untyped-def]
        laps.append(("before-apply", _hwm_mib()))
        _reset_peak()
        return apply(*args, **kw)

    _update._Clock.lap, _monitor.apply_update = timed_lap, timed_apply
    _reset_peak()
    t = time.perf_counter()
    up = mon.update(ev, ac if ac.num_rows else None)
    wall = time.perf_counter() - t
    laps.append(("commit", _hwm_mib()))
    print(f"revision tree {Path(accountgraph.__file__).parent}; day {a.day} ({lo:%Y-%m-%d}); {ev.num_rows:,} events")
    print(f"open {t_open:.1f} s (what every CLI call pays first); wall {wall:.1f} s; peak {max(m for _, m in laps):,} MiB")
    print("stage seconds", up.stats["seconds"])
    print("stage peak MiB", dict(laps))
    print({k: v for k, v in up.stats.items() if k.startswith("n_")})
    if a.save:
        up.assignments.to_parquet(a.save)


if __name__ == "__main__":
    main()
