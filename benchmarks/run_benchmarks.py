"""Detection quality, time and memory of ``accountgraph.detect`` and three baselines.

One command runs every synthetic scenario through ``accountgraph.detect`` and
the baselines in ``baselines.py`` and writes one Markdown table::

    .venv/bin/python benchmarks/run_benchmarks.py            # all scenarios, all methods
    .venv/bin/python benchmarks/run_benchmarks.py --repeats 3 --scenarios tiny small
    .venv/bin/python benchmarks/run_benchmarks.py --methods shared-id-cc fraudar --scale seed-2026=0.1

Each (scenario, method) runs in a fresh subprocess (see ``_measure.py`` for how
time and peak memory are measured); metrics come from ``accountgraph.metrics``.
Results go to ``benchmarks/results/quality.md`` (and a JSON file next to it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import _measure  # noqa: E402

__all__ = ["DEFAULT_SCALES", "METHODS", "main", "machine_description", "render_table"]

logger = logging.getLogger("run_benchmarks")

#: Scale per scenario chosen so that every method finishes in minutes on 2 cores.
#: seed-2026 and feb-2026 are the full-size worlds (~500k accounts, 51M / 37M events at
#: scale 1) and run at a reduced scale (~25k / ~50k accounts).
DEFAULT_SCALES: dict[str, float] = {
    "tiny": 1.0,
    "small": 1.0,
    "enterprise-heavy": 1.0,
    "residential-proxy": 1.0,
    "camouflage": 1.0,
    "many-rings": 1.0,
    "seed-2026": 0.05,
    "feb-2026": 0.1,
}
#: The small-user-base worlds that were called seed-2026 / feb-2026 until issue 13, at the
#: scales of the tables measured on them (not run by default; name them with --scenarios).
SMALL_SCALES: dict[str, float] = {"seed-2026-small": 0.05, "feb-2026-small": 0.1}
METHODS: tuple[str, ...] = ("detect", "shared-id-cc", "louvain-ip", "fraudar")

_COLS = [
    ("precision", "P"), ("recall", "R"), ("f1", "F1"), ("fpr_legit", "FPR legit"),
    ("fpr_enterprise", "FPR ent"), ("fpr_automation", "FPR auto"),
    ("ring_recall", "ring rec"), ("ari", "ARI"),
]


def machine_description() -> str:
    """CPU count, memory and Python/platform of this machine, for result headers."""
    mem = "?"
    try:
        with open("/proc/meminfo") as fh:
            kib = int(fh.readline().split()[1])
        mem = f"{kib / 2**20:.0f} GiB"
    except OSError:
        pass
    cpu = ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores{' (' + cpu + ')' if cpu else ''}, {mem} RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def git_revision() -> str:
    """Short commit hash of the working tree (read-only query), plus '+dirty'.

    A copy of the code made with ``git archive`` (no ``.git``) names its revision in the
    environment variable ``ACCOUNTGRAPH_REVISION``.
    """
    if os.environ.get("ACCOUNTGRAPH_REVISION"):
        return os.environ["ACCOUNTGRAPH_REVISION"]
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=HERE, capture_output=True, text=True)
        if rev.returncode:
            return "unknown"
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def render_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table of result rows; the best F1 of each scenario is in bold."""
    head = ["scenario", "scale", "events", "accounts", "rings", "method",
            *[h for _, h in _COLS], "flagged", "time s", "CPU s", "load", "peak RSS MiB", "Δ MiB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    best: dict[str, float] = {}
    for r in rows:
        if r.get("status") == "ok":
            best[r["scenario"]] = max(best.get(r["scenario"], -1.0), r["f1"])
    for r in rows:
        cells = [r["scenario"], f"{r['scale']:g}", _fmt(r.get("n_events")), _fmt(r.get("n_accounts")),
                 _fmt(r.get("n_rings")), r["method"]]
        if r.get("status") != "ok":
            cells += [r.get("status", "?")] + [""] * (len(head) - len(cells) - 1)
        else:
            for key, _ in _COLS:
                s = _fmt(r[key])
                if key == "f1" and r[key] == best[r["scenario"]]:
                    s = f"**{s}**"
                cells.append(s)
            load = r.get("loadavg_1m")
            cells += [_fmt(r["n_flagged"]), _fmt(r["median_s"], 2), _fmt(r.get("median_cpu_s"), 2),
                      _fmt(max(load), 1) if load else "–", _fmt(r["peak_rss_mib"], 0),
                      _fmt(r["peak_delta_mib"], 0)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _beaten(rows: list[dict[str, Any]]) -> list[str]:
    """Sentences naming every (scenario, metric) where a baseline beats detect."""
    out = []
    by = {(r["scenario"], r["method"]): r for r in rows if r.get("status") == "ok"}
    for (scen, meth), r in by.items():
        d = by.get((scen, "detect"))
        if meth == "detect" or d is None:
            continue
        wins = [h for k, h in (("f1", "F1"), ("precision", "P"), ("recall", "R"),
                               ("ring_recall", "ring recall"), ("ari", "ARI"))
                if not math.isnan(r[k]) and not math.isnan(d[k]) and r[k] > d[k] + 1e-9]
        if wins:
            out.append(f"- {scen}: **{meth}** beats detect on {', '.join(wins)}.")
    return out


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].replace("`", "'")[:200] if lines else "?"


def _detect_available() -> bool:
    try:
        import accountgraph

        return hasattr(accountgraph, "detect")
    except ImportError:
        return False


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description="Benchmark detect and baselines on synthetic scenarios.")
    p.add_argument("--scenarios", nargs="+", default=list(DEFAULT_SCALES))
    p.add_argument("--methods", nargs="+", default=list(METHODS))
    p.add_argument("--scale", action="append", default=[], metavar="SCENARIO=X",
                   help="override the scale of one scenario (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="synth seed")
    p.add_argument("--repeats", type=int, default=1, help="timed runs per method (median reported)")
    p.add_argument("--timeout", type=float, default=1200.0, help="seconds per (scenario, method)")
    p.add_argument("--regenerate", action="store_true", help="ignore cached synthetic data")
    p.add_argument("--data-root", type=Path, default=Path(tempfile.gettempdir()) / "accountgraph-bench")
    p.add_argument("--out", type=Path, default=HERE / "results" / "quality.md")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("accountgraph").setLevel(logging.WARNING)  # synth progress is noise here

    import pyarrow.parquet as pq
    from accountgraph.metrics import evaluate

    scales = {**DEFAULT_SCALES, **SMALL_SCALES}
    for item in a.scale:
        name, _, val = item.partition("=")
        scales[name] = float(val)
    methods = list(a.methods)
    if "detect" in methods and not _detect_available():
        logger.warning("accountgraph.detect is not available yet: running the baselines only")
        methods.remove("detect")

    rows: list[dict[str, Any]] = []
    work = a.data_root / "runs"
    work.mkdir(parents=True, exist_ok=True)
    for scen in a.scenarios:
        scale = scales.get(scen, 1.0)
        data, gen_s = _measure.ensure_dataset(scen, a.data_root, seed=a.seed, scale=scale, regenerate=a.regenerate)
        labels = pq.read_table(data / "labels.parquet")
        lab_df = labels.select(["ring_id", "kind"]).to_pandas()
        n_rings = int(lab_df.loc[lab_df["kind"] == "ring", "ring_id"].nunique())
        n_events = pq.ParquetFile(data / "events.parquet").metadata.num_rows
        logger.info("%s scale=%g: %d events, %d accounts (generated in %.1fs)",
                    scen, scale, n_events, labels.num_rows, gen_s)
        for meth in methods:
            out = work / f"{data.name}-{meth}.json"
            rec = _measure.measure(meth, data, out, repeats=a.repeats, timeout=a.timeout)
            row: dict[str, Any] = {"scenario": scen, "scale": scale, "n_events": n_events,
                                   "n_accounts": labels.num_rows, **rec, "n_rings": n_rings}
            if rec["status"] == "ok":
                m = evaluate(pq.read_table(rec["assignments"]), labels)
                row.update(m.to_dict())
                logger.info("%s / %s: F1 %.3f ring recall %s in %.2fs, peak %.0f MiB",
                            scen, meth, m.f1, _fmt(m.ring_recall), rec["median_s"], rec["peak_rss_mib"])
            else:
                logger.warning("%s / %s: %s", scen, meth, rec["status"])
            rows.append(row)

    cmd = "python benchmarks/run_benchmarks.py " + " ".join(shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:]))
    skipped = sorted(set(a.methods) - set(methods))
    text = "\n".join([
        "# Detection quality: detect vs baselines",
        "",
        f"- Command: `{cmd.strip()}`",
        f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}; revision {git_revision()}",
        f"- Machine: {machine_description()}",
        f"- Synthetic data: `accountgraph.synth`, seed {a.seed}; scale per scenario in the table.",
        f"- Time: median of {a.repeats} run(s) of the method call alone (no data loading): wall "
        "`time s` and process `CPU s` (user + system; above wall time when a method uses both cores). "
        "`load` = highest 1-minute load average seen around the runs: this machine is shared with other "
        "jobs, and wall times with load > 2 (the core count) are inflated by contention.",
        "- Memory: each (scenario, method) runs in a fresh subprocess. `peak RSS` is the process's "
        "peak resident set (VmHWM = ru_maxrss) while the method ran, after resetting the peak counter "
        "once the input was loaded; it includes the interpreter, libraries and the loaded input. "
        "`Δ` is that peak minus the RSS just before the method ran: the method's own working memory.",
        "- Metrics (`accountgraph.metrics.evaluate`): account-level P/R/F1 with positive = `kind == ring`; "
        "FPR = flagged share of legit / enterprise / automation accounts (– if the scenario has none); "
        "ring rec = share of rings with ≥ 80 % of accounts flagged; ARI of cluster ids vs ring ids over ring "
        "accounts (cluster -1 = singleton). Best F1 per scenario in bold.",
        "- Baselines (`benchmarks/baselines.py`): shared-id-cc = connected components over shared "
        "IP/device/payment, flag size ≥ 3; louvain-ip = Louvain on the shared-IP account projection, flag "
        "communities of size ≥ 3 with edge density ≥ 0.5; fraudar = FRAUDAR peeling, up to 20 blocks, stop "
        "below density 1.0, flag connected groups of ≥ 3 accounts inside the blocks; louvain-ip drops the "
        "highest-degree IPs from the projection when it would exceed 5e7 pair entries (count below).",
        *([f"- Not run: {', '.join(skipped)} (not available when this ran)."] if skipped else []),
        *[f"- {r['scenario']} / {r['method']}: {k} = {v}" for r in rows for k, v in (r.get("attrs") or {}).items()],
        *[f"- {r['scenario']} / {r['method']} failed: `{_last_line(r.get('stderr', ''))}`"
          for r in rows if r.get("status") == "error"],
        "",
        render_table(rows),
        "",
        "## Where a baseline beats detect",
        "",
        *(_beaten(rows) or ["- none" if "detect" in methods else "- detect not run"]),
        "",
    ])
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text)
    (work / "quality.json").write_text(json.dumps(rows, indent=1, default=str))
    logger.info("wrote %s", a.out)
    return rows


if __name__ == "__main__":
    main()
