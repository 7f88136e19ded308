"""Linear growth: time and peak memory of ``accountgraph detect`` by events (1M-45M) and by accounts (50k-1M).

Two sweeps of the ``seed-2026`` world, each row a fresh ``accountgraph detect``
process on Parquet paths (``seed_scale.run_cli``: wall, peak RSS from ``wait4``,
per-stage table):

* **events**: ``seed-2026`` at the scale giving each target event count
  (accounts grow with it: ~9.6k accounts per million events);
* **accounts**: the ring, enterprises and automation of ``seed-2026`` at scale 0.2
  (5,000 ring accounts, ~7.1M events) among a user base of individuals grown
  so that the world holds each target number of accounts (~35 events each).

Each table ends with the least-squares slope (seconds and MiB per million
events, or per 100k accounts) and the intercept::

    .venv/bin/python benchmarks/scale_growth.py --data-root /tmp/growth              # writes the worlds
    flock /tmp/ag-heavy.lock .venv/bin/python benchmarks/scale_growth.py --data-root /tmp/growth \\
        --run --out benchmarks/results/scale_growth.md

Writing the worlds (~10 min, ~20 GB of Parquet) and measuring are separate
steps, so the measuring holds the machine-wide lock only while it measures.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from run_benchmarks import git_revision  # noqa: E402
from seed_scale import run_cli  # noqa: E402

EVENTS = (1e6, 3e6, 10e6, 20e6, 45e6)
ACCOUNTS = (50_000, 100_000, 250_000, 500_000, 1_000_000)
_FULL_EVENTS = 51_592_061  # seed-2026 at scale 1, seed 0 (measured)
_BASE_SCALE = 0.2  # ring, enterprises and automation of the accounts sweep


def _worlds(root: Path) -> list[tuple[str, Path, Any, float]]:
    """``(sweep, directory, scenario, scale)`` of every row."""
    from accountgraph.synth import get_scenario

    spec = get_scenario("seed-2026")
    rows = [("events", root / f"events-{int(n / 1e6)}M", "seed-2026", n / _FULL_EVENTS) for n in EVENTS]
    base = spec.scaled(_BASE_SCALE)
    fixed = sum(base.enterprise_sizes) + base.n_automation + sum(r.n_accounts for r in base.rings)
    for n in ACCOUNTS:
        world = dataclasses.replace(base, name=f"seed-2026-{n // 1000}k-accounts", n_legit=max(n - fixed, 10))
        rows.append(("accounts", root / f"accounts-{n // 1000}k", world, 1.0))
    return rows


def write_worlds(root: Path) -> None:
    """Write every world once (skipped when its events file exists)."""
    from accountgraph.synth import write

    for _, d, scenario, scale in _worlds(root):
        if not (d / "events.parquet").exists():
            print(f"writing {d.name}", flush=True)
            write(scenario, d, seed=0, scale=scale)


def _slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    a, b = np.polyfit(x, y, 1)
    return float(a), float(b)


def _table(sweep: str, rows: list[dict]) -> list[str]:
    unit, div = ("M events", 1e6) if sweep == "events" else ("100k accounts", 1e5)
    stages = list(rows[0]["stages"]) if rows else []
    head = "| events | accounts | wall s | peak GiB | " + " | ".join(f"{s} s" for s in stages) + " |"
    lines = [head, "|" + "---|" * (4 + len(stages))]
    for r in rows:
        lines.append(f"| {r['events']:,} | {r['accounts']:,} | {r['wall_s']:.1f} | {r['peak_gib']:.2f} | "
                     + " | ".join(f"{r['stages'][s][0]:.1f}" for s in stages) + " |")
    if len(rows) >= 2:
        x = np.array([(r["events"] if sweep == "events" else r["accounts"]) / div for r in rows])
        ts, t0 = _slope(x, np.array([r["wall_s"] for r in rows]))
        ms, m0 = _slope(x, np.array([r["peak_gib"] * 1024 for r in rows]))
        lines += ["", f"Least-squares slope: **{ts:.2f} s and {ms:,.0f} MiB per {unit}** (intercepts {t0:.1f} s, "
                  f"{m0:,.0f} MiB). Per row, wall / {unit}: "
                  + ", ".join(f"{r['wall_s'] / xi:.2f}" for r, xi in zip(rows, x)) + "."]
    return lines


def measure(root: Path) -> dict[str, list[dict]]:
    """Run detect on every written world; rows per sweep."""
    import pyarrow.parquet as pq

    out: dict[str, list[dict]] = {"events": [], "accounts": []}
    for sweep, d, _, _ in _worlds(root):
        res = run_cli(d, Path(tempfile.mkdtemp(prefix="growth-")) / "out")
        if res["returncode"] != 0:
            raise SystemExit(f"detect failed on {d}:\n{res['stderr']}")
        res["events"] = pq.ParquetFile(d / "events.parquet").metadata.num_rows
        res["accounts"] = pq.ParquetFile(d / "accounts.parquet").metadata.num_rows
        out[sweep].append(res)
        print(f"{d.name}: {res['wall_s']:.1f} s, {res['peak_gib']:.2f} GiB", flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", type=Path, required=True)
    p.add_argument("--run", action="store_true", help="measure (otherwise only write the worlds)")
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    if not a.run:
        write_worlds(a.data_root)
        return
    res = measure(a.data_root)
    lines = ["# Linear growth of `accountgraph detect` (Parquet paths, fresh process per row)", "",
             f"- Command: `flock /tmp/ag-heavy.lock python benchmarks/scale_growth.py --data-root {a.data_root} --run`"
             " (worlds written first without `--run`)",
             f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; revision `{git_revision()}`; machine: "
             f"{os.cpu_count()} cores, 24 GiB RAM, shared (1-minute load at the end {os.getloadavg()[0]:.1f}); "
             f"Python {platform.python_version()}",
             "- Wall: the whole CLI process (imports, reading, writing the outputs); peak: the process's peak RSS; "
             "stage seconds from `result.stats`.", "",
             "## By events (`seed-2026` scaled)", "", *_table("events", res["events"]), "",
             f"## By accounts (`seed-2026` ring at scale {_BASE_SCALE}, user base grown)", "",
             *_table("accounts", res["accounts"]), ""]
    text = "\n".join(lines)
    print(text)
    if a.out is not None:
        a.out.write_text(text)


if __name__ == "__main__":
    main()
