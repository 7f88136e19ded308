"""Read-and-encode floor: the least any detect run on a Parquet file must do.

Reads the columns ``detect`` needs besides the prompts (``account_id``,
``timestamp``, ``ip``, ``device_id``, ``payment_id``, ``output_tokens``,
``model``) and factorises the four id columns into integer codes, several ways,
each in a fresh subprocess (peak RSS per method), and reports the fastest. The
scale benchmark's target is stated against this floor (detect <= 4x it)::

    .venv/bin/python benchmarks/read_floor.py /tmp/seed2026/events.parquet --repeats 3

Methods
-------
``read``           ``pyarrow.parquet.read_table`` of the columns, nothing else
``read+dict``      read with ``read_dictionary=`` for the id columns (Parquet's own
                   dictionary pages become Arrow dictionaries), then unify the
                   dictionaries across row groups
``read+encode``    read plain, then ``dictionary_encode`` each id column chunk by chunk
                   and unify
``read+pandas``    read plain, then ``pandas.factorize`` each id column
``iter+dict``      stream row groups with ``read_dictionary=`` (Parquet's dictionary pages),
                   keep the per-batch dictionary arrays, unify them once at the end
``iter+table``     stream row groups with ``read_dictionary=`` and give each batch's
                   dictionary values global codes in a compiled hash table
                   (``accountgraph.ingest._strtable.StringTable``, what ``detect`` does);
                   per event only int32 codes are kept
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

COLUMNS = ["account_id", "timestamp", "ip", "device_id", "payment_id", "output_tokens", "model"]
IDS = ["account_id", "ip", "device_id", "payment_id"]
METHODS = ("read", "read+dict", "read+encode", "read+pandas", "iter+dict", "iter+table")


def _iterate(method: str, path: str, cols: list[str], ids: list[str]) -> tuple[int, dict]:
    """Row group by row group: id columns to codes, the other columns kept as read."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = [path] if not os.path.isdir(path) else sorted(str(p) for p in Path(path).rglob("*.parquet"))
    chunks: dict[str, list] = {c: [] for c in ids}
    tables: dict = {}
    if method == "iter+table":
        from accountgraph.ingest._strtable import StringTable

        tables = {c: StringTable() for c in ids}
    n = 0
    other = []
    for f in files:
        pf = pq.ParquetFile(f, pre_buffer=False, read_dictionary=ids)
        for batch in pf.iter_batches(columns=cols, batch_size=1 << 20):
            n += batch.num_rows
            for c in ids:
                arr = batch.column(c)
                if method == "iter+dict":
                    chunks[c].append(arr)
                else:
                    codes = np.append(tables[c].codes(arr.dictionary), np.int32(-1))
                    idx = arr.indices.fill_null(-1).to_numpy()
                    chunks[c].append(codes[idx])
            other.append([batch.column(c) for c in cols if c not in ids])  # kept as read
    if method == "iter+dict":
        return n, {c: len(pa.chunked_array(chunks[c]).unify_dictionaries().chunk(0).dictionary) if chunks[c] else 0
                   for c in ids}
    return n, {c: len(tables[c]) for c in ids}


def _run(method: str, path: str) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    cols = [c for c in COLUMNS if c in schema.names]
    ids = [c for c in IDS if c in cols]
    t0 = time.perf_counter()
    if method.startswith("iter+"):
        n_rows, n_codes = _iterate(method, path, cols, ids)
        return {"method": method, "rows": n_rows, "wall_s": time.perf_counter() - t0, "distinct": n_codes,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if method == "read+dict":
        t = pq.read_table(path, columns=cols, read_dictionary=ids)
        t = t.unify_dictionaries()
        n_codes = {c: len(t.column(c).chunk(0).dictionary) if t.column(c).num_chunks else 0 for c in ids}
    else:
        t = pq.read_table(path, columns=cols)
        n_codes = {}
        if method == "read+encode":
            for c in ids:
                enc = pa.chunked_array([ch.dictionary_encode() for ch in t.column(c).chunks])
                enc = pa.table({c: enc}).unify_dictionaries().column(c)
                n_codes[c] = len(enc.chunk(0).dictionary) if enc.num_chunks else 0
        elif method == "read+pandas":
            import pandas as pd

            for c in ids:
                codes, uniq = pd.factorize(t.column(c).to_pandas(types_mapper=pd.ArrowDtype))
                n_codes[c] = len(uniq)
    wall = time.perf_counter() - t0
    return {"method": method, "rows": t.num_rows, "wall_s": wall, "distinct": n_codes,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("events", help="events Parquet file or directory")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        print(json.dumps(_run(a.worker, a.events)))
        return []
    rows = []
    for m in a.methods:
        runs = []
        for _ in range(a.repeats):
            out = subprocess.run([sys.executable, __file__, a.events, "--worker", m], check=True,
                                 capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        row = dict(runs[0], wall_s=statistics.median(r["wall_s"] for r in runs),
                   peak_rss_mib=max(r["peak_rss_mib"] for r in runs), repeats=len(runs))
        rows.append(row)
        print(f"{m:<12} {row['rows']:>12,} rows  median {row['wall_s']:7.2f} s  peak {row['peak_rss_mib']:8.0f} MiB  "
              f"distinct {row['distinct']}", flush=True)
    coded = [r for r in rows if r["method"] != "read"]
    if coded:
        best = min(coded, key=lambda r: r["wall_s"])
        print(f"floor (fastest read + encode): {best['method']} {best['wall_s']:.2f} s")
    return rows


if __name__ == "__main__":
    main()
