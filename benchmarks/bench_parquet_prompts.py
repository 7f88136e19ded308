"""Sign every prompt of a Parquet events file, streamed: throughput and peak memory.

Issue 4 asks for the ``seed-2026`` prompts at full scale (~33.5M; that world is now called
``seed-2026-small``, and ``seed-2026`` has ~51M prompts) with peak
memory reported. This reads the ``prompt`` column batch by batch with the
pipeline's own reader (:class:`accountgraph.ingest._io.LazyColumn`, no other column is loaded),
signs each batch with :func:`accountgraph.minhash.prompt_signatures` in the default
mode on every core, cuts the signatures into LSH band keys
(:func:`accountgraph.minhash.band_keys`, the template signals), and keeps only a
checksum, so memory is bounded by the batch::

    .venv/bin/accountgraph synth --scenario seed-2026-small --out /tmp/seed2026     # ~4 min
    .venv/bin/python benchmarks/bench_parquet_prompts.py /tmp/seed2026/events.parquet \\
        --out benchmarks/results/seed2026_prompts.md

Peak RSS is the process's ``ru_maxrss`` (VmHWM), which includes the
interpreter and libraries.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from accountgraph.minhash import band_keys, lsh_params, prompt_signatures  # noqa: E402
from accountgraph.ingest._io import LazyColumn  # noqa: E402


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("events", type=Path, help="Parquet file with a 'prompt' column")
    p.add_argument("--batch-rows", type=int, default=65_536)
    p.add_argument("--num-perm", type=int, default=128)
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--limit", type=int, default=None, help="stop after this many rows")
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)

    lazy = LazyColumn(a.events, "prompt")
    n_rows = len(lazy)
    bands, rows = lsh_params(a.threshold, a.num_perm)
    rss0 = _rss_mib()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    done = n_null = 0
    n_text_bytes = 0
    checksum = np.uint64(0)
    for _, col in lazy.iter_arrays(None, a.batch_rows):
        n_null += col.null_count
        n_text_bytes += col.nbytes
        sig = prompt_signatures(col, num_perm=a.num_perm, n_jobs=-1)
        keys, _ = band_keys(sig, bands, rows)
        checksum ^= np.bitwise_xor.reduce(keys[:, 0]) if len(keys) else np.uint64(0)
        done += len(col)
        if done // a.batch_rows % 50 == 0:
            el = time.perf_counter() - t0
            print(f"{done:,} / {n_rows:,} prompts, {done / el:,.0f}/s, peak RSS {_rss_mib():,.0f} MiB", flush=True)
        if a.limit is not None and done >= a.limit:
            break
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    load = os.getloadavg()[0]
    lines = [
        "# Prompt signatures of a whole Parquet events file, streamed",
        "",
        f"- Command: `python benchmarks/bench_parquet_prompts.py {a.events} --batch-rows {a.batch_rows} "
        f"--num-perm {a.num_perm}" + (f" --limit {a.limit}" if a.limit else "") + "`",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: {os.cpu_count()} cores, "
        "24 GiB RAM; 1-minute load average at the end: " + f"{load:.2f}",
        f"- Default (fast) mode, {a.num_perm} positions, every core; LSH band keys for threshold "
        f"{a.threshold} ({bands} bands x {rows} rows) computed and discarded (checksum {int(checksum)}).",
        "",
        "| prompts | null | text GiB (Arrow) | wall s | CPU s | prompts/s (wall) | peak RSS MiB | RSS before MiB |",
        "|---|---|---|---|---|---|---|---|",
        f"| {done:,} | {n_null:,} | {n_text_bytes / 2**30:.2f} | {wall:.1f} | {cpu:.1f} | {done / wall:,.0f} | "
        f"{_rss_mib():,.0f} | {rss0:,.0f} |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if a.out is not None:
        a.out.write_text(text)


if __name__ == "__main__":
    main()
