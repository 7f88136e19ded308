"""SHA-256 of generate(name, seed=0) tables of the original scenarios, to check that a change
keeps them byte-identical: run before and after, then diff the JSON files.

    PYTHONPATH=src python benchmarks/synth_identity.py before.json

seed-2026-small and feb-2026-small (called seed-2026 / feb-2026 before issue 13: rename the
keys of older files to compare) are hashed at scale 0.1 (generate holds them in memory).
"""
from __future__ import annotations

import hashlib
import json
import sys

import pyarrow as pa
from accountgraph.synth import generate

SCALES = {"seed-2026-small": 0.1, "feb-2026-small": 0.1}
ORIGINAL = ["tiny", "small", "enterprise-heavy", "residential-proxy", "camouflage", "many-rings", "seed-2026-small",
            "feb-2026-small"]


def main(path: str) -> None:
    out = {}
    for name in ORIGINAL:
        sc = SCALES.get(name, 1.0)
        ds = generate(name, seed=0, scale=sc, max_events=50_000_000)
        h = {}
        for t in ("events", "accounts", "labels"):
            tbl = getattr(ds, t).combine_chunks()
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, tbl.schema) as w:
                w.write_table(tbl)
            h[t] = hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()
        h["scale"] = sc
        h["rows"] = ds.events.num_rows
        out[name] = h
        print(name, h, flush=True)
    json.dump(out, open(path, "w"), indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
