"""Benchmark the synthetic-world generator: wall time, throughput and peak RSS.

Each case runs in a fresh subprocess so its peak RSS (``ru_maxrss``) is its own.

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_synth.py            # default cases
    PYTHONPATH=src .venv/bin/python benchmarks/bench_synth.py --full     # + seed-2026(-small) at scale 1
    PYTHONPATH=src .venv/bin/python benchmarks/bench_synth.py --out benchmarks/results/synth.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = {
    "small": ("generate", "small", 1.0),
    "residential-proxy": ("generate", "residential-proxy", 1.0),
    # The small-user-base worlds (named seed-2026 / feb-2026 before issue 13), as in synth.md.
    "seed-2026-small@0.1": ("write", "seed-2026-small", 0.1),
    "feb-2026-small@0.1": ("write", "feb-2026-small", 0.1),
}
FULL = {"seed-2026-small@1": ("write", "seed-2026-small", 1.0), "seed-2026@1": ("write", "seed-2026", 1.0)}


def run_case(mode: str, scenario: str, scale: float) -> dict[str, object]:
    """Run one case in this process and return its measurements."""
    import pyarrow.parquet as pq

    from accountgraph.synth import generate, write

    t0 = time.perf_counter()
    if mode == "generate":
        ds = generate(scenario, seed=0, scale=scale)
        events, accounts = ds.events.num_rows, ds.accounts.num_rows
        size = None
    else:
        out = Path(tempfile.mkdtemp(prefix="synth-bench-"))
        try:
            paths = write(scenario, out, seed=0, scale=scale)
            meta = pq.ParquetFile(paths["events"]).metadata
            events, accounts = meta.num_rows, pq.ParquetFile(paths["accounts"]).metadata.num_rows
            size = sum(p.stat().st_size for p in paths.values())
        finally:
            shutil.rmtree(out, ignore_errors=True)
    seconds = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"events": events, "accounts": accounts, "seconds": seconds,
            "events_per_s": events / seconds, "peak_rss_mb": rss_mb,
            "bytes_on_disk": size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--full", action="store_true", help="also write seed-2026-small and seed-2026 at scale 1")
    ap.add_argument("--out", type=Path, default=None, help="write a Markdown table here")
    ap.add_argument("--case", nargs=3, metavar=("MODE", "SCENARIO", "SCALE"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        mode, scenario, scale = args.case
        print(json.dumps(run_case(mode, scenario, float(scale))))
        return
    cases = dict(CASES, **(FULL if args.full else {}))
    rows = []
    for name, (mode, scenario, scale) in cases.items():
        load_before = os.getloadavg()[0]
        proc = subprocess.run([sys.executable, __file__, "--case", mode, scenario, str(scale)],
                              check=True, capture_output=True, text=True, env=os.environ)
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        # Other work on a shared machine inflates wall time; record the 1-min load.
        res.update(case=name, mode=mode, load=f"{load_before:.1f}-{os.getloadavg()[0]:.1f}")
        rows.append(res)
        disk = "-" if res["bytes_on_disk"] is None else f"{res['bytes_on_disk'] / 2**20:,.0f} MiB"
        line = (f"| {name} | {mode} | {res['accounts']:,} | {res['events']:,} | "
                f"{res['seconds']:.1f} | {res['events_per_s'] / 1e3:,.0f}k | "
                f"{res['peak_rss_mb']:,.0f} | {disk} | {res['load']} |")
        rows[-1]["line"] = line
        print(line, flush=True)
    if args.out:
        header = [
            "| case | mode | accounts | events | seconds | events/s | peak RSS (MiB) | Parquet "
            "| load avg (start-end) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        text = "\n".join(header + [r["line"] for r in rows]) + "\n"
        stamp = (f"\n_{dt.date.today().isoformat()}, {platform.python_version()}, "
                 f"{os.cpu_count()} CPUs_\n")
        args.out.write_text(text + stamp)


if __name__ == "__main__":
    main()
