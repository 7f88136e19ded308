"""Peak memory and time of each pipeline stage of ``detect`` on a Parquet input.

The scaling benchmark reports one peak per run; this one says which stage
sets it. Linux only: before each stage the kernel's peak-RSS counter (VmHWM)
is reset through ``/proc/self/clear_refs``, and read again when the stage ends.
``detect`` is given the Parquet *paths*, so the prompt column is streamed by the
template stage and never loaded whole::

    .venv/bin/python benchmarks/stage_memory.py /tmp/accountgraph-bench/small-seed0-scale48.9572 \\
        --out benchmarks/results/stage_memory.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import pyarrow.parquet as pq  # noqa: E402

import accountgraph  # noqa: E402
from accountgraph.engines.local import _pipeline  # noqa: E402


def _status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) // 1024
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path, help="directory with events.parquet and accounts.parquet")
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)

    rows: list[tuple[str, int, int, int, float]] = []
    enter, leave = _pipeline._Stage.__enter__, _pipeline._Stage.__exit__

    def stage_enter(self):  # type: ignore[no-untyped-def]
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        self._rss0 = _status()["VmRSS"]
        return enter(self)

    def stage_exit(self, *exc):  # type: ignore[no-untyped-def]
        out = leave(self, *exc)
        s = _status()
        rows.append((self.name, self._rss0, s["VmHWM"], s["VmRSS"], self.stats["seconds"][self.name]))
        return out

    _pipeline._Stage.__enter__, _pipeline._Stage.__exit__ = stage_enter, stage_exit
    n_events = pq.read_metadata(a.data / "events.parquet").num_rows
    t0 = time.perf_counter()
    res = accountgraph.detect(a.data / "events.parquet", a.data / "accounts.parquet", seed=0)
    wall = time.perf_counter() - t0
    quality = []
    if (a.data / "labels.parquet").exists():
        from accountgraph.metrics import evaluate

        m = evaluate(res.assignments, a.data / "labels.parquet")
        quality = [
            f"- Against `labels.parquet`: precision {m.precision:.4f}, recall {m.recall:.4f}, F1 {m.f1:.4f}; "
            f"false-positive rate legit {m.fpr_legit:.5f}, enterprise {m.fpr_enterprise:.5f}, "
            f"automation {m.fpr_automation:.5f}; ring recall {m.ring_recall:.3f} ({m.n_rings_recalled} of {m.n_rings}).",
        ]
    lines = [
        "# Memory by pipeline stage",
        "",
        f"- Command: `python benchmarks/stage_memory.py {a.data}`",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: {os.cpu_count()} cores, 24 GiB RAM;"
        f" 1-minute load average at the end {os.getloadavg()[0]:.2f}",
        f"- Input: {n_events:,} events, {res.stats['n_accounts']:,} accounts, given as Parquet paths (prompts "
        f"streamed); detect took {wall:.1f} s; {res.stats['n_flagged_accounts']:,} accounts flagged.",
        *quality,
        "- `peak` is the process's resident-set high-water mark during the stage (reset at its start);",
        "  it includes the interpreter, the libraries and everything earlier stages still hold.",
        "",
        "| stage | RSS at start MiB | peak MiB | RSS at end MiB | seconds |",
        "|---|---|---|---|---|",
        *[f"| {n} | {r0:,} | {pk:,} | {r1:,} | {s:.1f} |" for n, r0, pk, r1, s in rows],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if a.out is not None:
        a.out.write_text(text)


if __name__ == "__main__":
    main()
