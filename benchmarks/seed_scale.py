"""The scale benchmark: ``accountgraph detect`` on a full-scale world from Parquet paths, against a read floor.

Measured as a new user would run it, in one go on this machine::

    .venv/bin/accountgraph synth --scenario seed-2026 --out /tmp/seed2026          # ~3 min, 6.0 GB
    flock /tmp/ag-heavy.lock .venv/bin/python benchmarks/seed_scale.py /tmp/seed2026 \\
        --out benchmarks/results/seed_scale.md

1. the read-and-encode floor (``read_floor.py``: the columns detect needs besides
   the prompts, id columns factorised; fresh subprocess per method, the fastest wins);
2. ``accountgraph detect DIR/events.parquet --accounts DIR/accounts.parquet --out TMP``
   in a fresh process: wall time, peak RSS of the process (``wait4``), and the
   per-stage time and peak the CLI prints (``result.stats``);
3. quality of the written assignments against ``labels.parquet``.

The markdown says whether the targets hold (<= 180 s, <= 8 GiB, <= 4x the floor).
``--no-floor`` skips step 1 (the ratio is then left out).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))
from run_benchmarks import git_revision  # noqa: E402  (honours ACCOUNTGRAPH_REVISION in a git-archive copy)

__all__ = ["run_cli", "main"]

TARGET_S, TARGET_GIB, TARGET_RATIO = 180.0, 8.0, 4.0
_STAGE = re.compile(r"^(\w+)\s+([\d.]+)\s+([\d.]+) GiB$")


def run_cli(data: Path, out: Path, extra: list[str] | None = None) -> dict[str, Any]:
    """Run ``accountgraph detect`` on ``data`` in a fresh process; wall, peak RSS, stage table, stdout."""
    env = dict(os.environ, PYTHONPATH=str(HERE.parent / "src"))
    events = data / "events.parquet" if (data / "events.parquet").exists() else data / "events"  # file or directory
    cmd = [sys.executable, "-m", "accountgraph.cli", "detect", str(events),
           "--accounts", str(data / "accounts.parquet"), "--out", str(out), "--overwrite", "--no-progress",
           *(extra or [])]
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fo, stderr=fe, text=True, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS (ru_maxrss, KiB)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        stdout, stderr = fo.read(), fe.read()
    peak_kib = usage.ru_maxrss
    stages = {m.group(1): (float(m.group(2)), float(m.group(3))) for line in stdout.splitlines()
              if (m := _STAGE.match(line.strip()))}
    return {"cmd": cmd, "returncode": proc.returncode, "wall_s": wall, "peak_gib": peak_kib / 2**20,
            "stages": stages, "stdout": stdout, "stderr": stderr[-3000:]}


def _floor(events: Path, methods: list[str], repeats: int) -> list[dict]:
    import read_floor

    return read_floor.main([str(events), "--repeats", str(repeats), "--methods", *methods])


def _quality(out: Path, labels: Path) -> dict[str, Any] | None:
    if not labels.exists():
        return None
    import pyarrow.parquet as pq

    from accountgraph.metrics import evaluate

    return evaluate(pq.read_table(out / "assignments.parquet").to_pandas(), labels).to_dict()


def _markdown(a: argparse.Namespace, data: Path, cli: dict, floor: list[dict], q: dict | None) -> str:
    import pyarrow.parquet as pq

    files = [data / "events.parquet"] if (data / "events.parquet").exists() else \
        sorted((data / "events").glob("*.parquet"))
    metas = [pq.ParquetFile(f).metadata for f in files]
    n_rows, n_groups = sum(m.num_rows for m in metas), sum(m.num_row_groups for m in metas)
    n_acc = pq.ParquetFile(data / "accounts.parquet").metadata.num_rows
    size = sum(f.stat().st_size for f in files) / 2**30
    best = min((r for r in floor if r["method"] != "read"), key=lambda r: r["wall_s"], default=None)
    ratio = cli["wall_s"] / best["wall_s"] if best else None
    ok = lambda b: "yes" if b else "**no**"  # noqa: E731
    lines = [
        "# Scale benchmark: `accountgraph detect` on a full-scale world from Parquet paths", "",
        f"- Command: `python benchmarks/seed_scale.py {' '.join(sys.argv[1:])}` (detect itself: `{' '.join(Path(c).name if i < 2 else c for i, c in enumerate(cli['cmd']))}`)",
        f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; revision `{git_revision()}`; machine: "
        f"{os.cpu_count()} cores, 24 GiB RAM, no swap, shared (1-minute load at the end {os.getloadavg()[0]:.1f}); "
        f"Python {platform.python_version()}",
        f"- Input: {n_rows:,} events in {n_groups} row groups of {len(files)} file(s) ({size:.1f} GiB zstd Parquet), "
        f"{n_acc:,} accounts.", "",
        "| measure | value | target | holds |", "|---|---|---|---|",
        f"| detect wall (CLI, fresh process) | {cli['wall_s']:.1f} s | <= {TARGET_S:.0f} s | {ok(cli['wall_s'] <= TARGET_S)} |",
        f"| peak RSS (whole process) | {cli['peak_gib']:.2f} GiB | <= {TARGET_GIB:.0f} GiB | "
        f"{ok(cli['peak_gib'] <= TARGET_GIB)} |",
    ]
    if best:
        lines.append(f"| read-and-encode floor ({best['method']}) | {best['wall_s']:.1f} s | | |")
        lines.append(f"| detect / floor | {ratio:.2f}x | <= {TARGET_RATIO:.0f}x | {ok(ratio <= TARGET_RATIO)} |")
    lines += ["", "Per stage (`result.stats`: wall seconds, and the process's peak resident memory while the stage ran,",
              "including what earlier stages still hold):", "", "| stage | seconds | peak GiB |", "|---|---|---|"]
    lines += [f"| {k} | {s:.1f} | {g:.2f} |" for k, (s, g) in cli["stages"].items()]
    if floor:
        lines += ["", "Read floor (`benchmarks/read_floor.py`, fresh subprocess per method; the columns detect needs "
                  "besides the prompts):", "", "| method | seconds | peak MiB |", "|---|---|---|"]
        lines += [f"| {r['method']} | {r['wall_s']:.1f} | {r['peak_rss_mib']:,.0f} |" for r in floor]
    if q:
        lines += ["", f"Quality against `labels.parquet`: precision {q['precision']:.4f}, recall {q['recall']:.4f}, "
                  f"F1 {q['f1']:.4f}; false-positive rate legit {q['fpr_legit']:.5f}, enterprise "
                  f"{q['fpr_enterprise']:.5f}, automation {q['fpr_automation']:.5f}; ring recall "
                  f"{q['ring_recall']:.3f}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path, help="directory with events.parquet, accounts.parquet (and labels.parquet)")
    p.add_argument("--out", type=Path, default=None, help="markdown file to write")
    p.add_argument("--no-floor", action="store_true")
    p.add_argument("--floor-methods", nargs="+", default=["read", "read+dict", "iter+dict", "iter+table"])
    p.add_argument("--floor-repeats", type=int, default=1)
    a = p.parse_args(argv)
    events = a.data / "events.parquet" if (a.data / "events.parquet").exists() else a.data / "events"
    floor = [] if a.no_floor else _floor(events, a.floor_methods, a.floor_repeats)
    out = Path(tempfile.mkdtemp(prefix="seed-scale-"))
    try:
        cli = run_cli(a.data, out / "result")
        print(cli["stdout"], flush=True)
        if cli["returncode"] != 0:
            print(cli["stderr"], file=sys.stderr)
            raise SystemExit(f"detect failed with exit code {cli['returncode']}")
        q = _quality(out / "result", a.data / "labels.parquet")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    text = _markdown(a, a.data, cli, floor, q)
    print(text)
    if a.out is not None:
        a.out.write_text(text)
    return {"cli": cli, "floor": floor, "quality": q}


if __name__ == "__main__":
    main()
