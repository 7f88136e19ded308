"""Time and peak memory of ``accountgraph.detect`` as the event log grows.

For each target size (default 0.1M, 0.3M, 1M, 3M, 10M events) the scenario is
generated with ``accountgraph.synth`` at a scale chosen to hit the event count
(events grow linearly with ``scale``; the ratio is measured on a probe at
``--probe-scale``), written to Parquet, and ``detect`` runs on the data read
back from Parquet in a fresh subprocess (``_measure.py`` documents how memory
is measured). Sizes stop when the next one would not fit the time budget::

    .venv/bin/python benchmarks/scaling.py --budget 1800
    .venv/bin/python benchmarks/scaling.py --sizes 1e5 3e5 --method fraudar

Results go to ``benchmarks/results/scaling.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import _measure  # noqa: E402
from run_benchmarks import _last_line, git_revision, machine_description  # noqa: E402

__all__ = ["main"]

logger = logging.getLogger("scaling")


def _events(d: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(d / "events.parquet").metadata.num_rows


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description="Scaling of detect with the number of events.")
    p.add_argument("--scenario", default="small")
    p.add_argument("--sizes", nargs="+", type=float, default=[1e5, 3e5, 1e6, 3e6, 1e7])
    p.add_argument("--method", default="detect", help="detect or a baseline name")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--probe-scale", type=float, default=0.1)
    p.add_argument("--budget", type=float, default=1800.0, help="total seconds for generation + runs")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--regenerate", action="store_true", help="ignore cached synthetic data")
    p.add_argument("--data-root", type=Path, default=Path(tempfile.gettempdir()) / "accountgraph-bench")
    p.add_argument("--out", type=Path, default=HERE / "results" / "scaling.md")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("accountgraph").setLevel(logging.WARNING)  # synth progress is noise here

    import pyarrow.parquet as pq
    from accountgraph.metrics import evaluate

    t_start = time.perf_counter()
    probe, _ = _measure.ensure_dataset(a.scenario, a.data_root, seed=a.seed, scale=a.probe_scale, regenerate=a.regenerate)
    per_scale = _events(probe) / a.probe_scale
    logger.info("%s: %.0f events per unit scale (probe at %g)", a.scenario, per_scale, a.probe_scale)

    rows: list[dict[str, Any]] = []
    work = a.data_root / "runs"
    work.mkdir(parents=True, exist_ok=True)
    stop_reason = "all sizes done"
    for target in sorted(a.sizes):
        elapsed = time.perf_counter() - t_start
        remaining = a.budget - elapsed
        if rows and rows[-1]["status"] == "ok":
            # Extrapolate linearly from the last size with a safety factor for
            # super-linear stages and data generation.
            last = rows[-1]
            predicted = 1.5 * (last["median_s"] * a.repeats + last["gen_s"] + last["process_overhead_s"]) * (
                target / last["n_events"]
            )
            if predicted > remaining:
                stop_reason = (f"stopped before {target:.0e} events: predicted {predicted:.0f}s "
                               f"> remaining budget {remaining:.0f}s")
                break
        scale = round(target / per_scale, 4)
        data, gen_s = _measure.ensure_dataset(a.scenario, a.data_root, seed=a.seed, scale=scale, regenerate=a.regenerate)
        n_events = _events(data)
        disk_mib = sum(f.stat().st_size for f in data.glob("*.parquet")) / 2**20
        remaining = a.budget - (time.perf_counter() - t_start)
        logger.info("target %.0e: scale %g -> %d events (gen %.0fs); %.0fs left", target, scale, n_events, gen_s, remaining)
        rec = _measure.measure(a.method, data, work / f"scaling-{data.name}-{a.method}.json",
                               repeats=a.repeats, timeout=max(remaining, 1.0))
        row: dict[str, Any] = {"target": target, "scale": scale, "gen_s": gen_s, "disk_mib": disk_mib,
                               **rec, "n_events": n_events}
        if rec["status"] == "ok":
            row["process_overhead_s"] = rec["process_s"] - sum(rec["times_s"])
            m = evaluate(pq.read_table(rec["assignments"]), data / "labels.parquet")
            row.update({"f1": m.f1, "ring_recall": m.ring_recall, "n_accounts": m.n_accounts})
            logger.info("%d events: %.1fs, peak %.0f MiB", n_events, rec["median_s"], rec["peak_rss_mib"])
        rows.append(row)
        if rec["status"] != "ok":
            stop_reason = f"stopped at {target:.0e} events: {rec['status']}"
            break

    cmd = "python benchmarks/scaling.py " + " ".join(shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:]))
    head = ["events", "accounts", "scale", "Parquet MiB", "input in RAM MiB", "time s", "CPU s", "load", "peak RSS MiB",
            "Δ MiB", "F1", "ring rec", "gen s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if r["status"] != "ok":
            lines.append(f"| {r['n_events']:,} | | {r['scale']:g} | {r['disk_mib']:.0f} | | {r['status']} | | | | | | | {r['gen_s']:.0f} |")
            continue
        lines.append(
            f"| {r['n_events']:,} | {r['n_accounts']:,} | {r['scale']:g} | {r['disk_mib']:.0f} | {r['input_mib']:.0f} | "
            f"{r['median_s']:.2f} | {r['median_cpu_s']:.2f} | {max(r['loadavg_1m']):.1f} | {r['peak_rss_mib']:.0f} | {r['peak_delta_mib']:.0f} | {r['f1']:.3f} | "
            f"{r['ring_recall']:.3f} | {r['gen_s']:.0f} |"
        )
    text = "\n".join([
        f"# Scaling of `{a.method}` with the number of events",
        "",
        f"- Command: `{cmd.strip()}`",
        f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}; revision {git_revision()}",
        f"- Machine: {machine_description()}",
        f"- Data: `accountgraph.synth` scenario `{a.scenario}`, seed {a.seed}, scale chosen per row to hit the "
        f"target event count ({per_scale:.0f} events per unit scale measured at scale {a.probe_scale:g}); "
        "written to Parquet and read back in the worker (`gen s` = generation + write time, 0 if cached).",
        f"- Time budget {a.budget:.0f}s for the whole run; {stop_reason}.",
        f"- Time: median of {a.repeats} run(s) of the call alone (wall and process CPU; `load` = highest "
        "1-minute load average around the run: the machine is shared, wall times at load > 2 are inflated). Memory: fresh subprocess per size; `peak RSS` = "
        "VmHWM (= ru_maxrss) during the call after resetting it once the input was loaded (includes interpreter, "
        "libraries and input); `Δ` = peak minus RSS just before the call; `input in RAM` = Arrow size of events + accounts.",
        "",
        *lines,
        "",
        *[f"- {r['n_events']:,} events failed: `{_last_line(r.get('stderr', ''))}`"
          for r in rows if r["status"] == "error"],
        "",
    ])
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text)
    (work / "scaling.json").write_text(json.dumps(rows, indent=1, default=str))
    logger.info("wrote %s", a.out)
    return rows


if __name__ == "__main__":
    main()
