"""Digest of every table ``detect`` returns, on worlds written to Parquet, to check a change keeps them.

``assignments_digest.py`` covers the assignments and clusters; a change to how the evidence is
built (views, scoring internals) must also leave ``cluster_signals``, the incidences, every
evidence table and the template table unchanged, values and dtypes. For each world directory
(``accountgraph synth --out DIR``) this runs ``detect(DIR/events.parquet,
accounts=DIR/accounts.parquet)`` and prints, per table, a SHA-256 prefix over its column names
and dtypes and ``pandas.util.hash_pandas_object`` of its rows, and its row count::

    PYTHONPATH=/tmp/OLD/src python benchmarks/result_tables_digest.py /tmp/w_small /tmp/seed025 > old.json
    PYTHONPATH=/tmp/NEW/src python benchmarks/result_tables_digest.py /tmp/w_small /tmp/seed025 > new.json
    diff old.json new.json
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

import numpy as np
import pandas as pd

import accountgraph as ag


def _digest(table: Any) -> Any:
    if isinstance(table, dict):
        return {k: _digest(v) for k, v in sorted(table.items())}
    if isinstance(table, np.ndarray):
        return hashlib.sha256(table.tobytes()).hexdigest()[:16]
    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
    h = hashlib.sha256(repr([(c, str(t)) for c, t in frame.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return f"{h.hexdigest()[:16]}/{len(frame)}"


def main(worlds: list[str]) -> None:
    out = {}
    for d in worlds:
        r = ag.detect(f"{d}/events.parquet", accounts=f"{d}/accounts.parquet")
        tables = {"assignments": r.assignments, "clusters": r.clusters, "cluster_signals": r.cluster_signals,
                  "incidence": r._incidence, "evidence": dict(r.evidence), "templates": r.templates}
        out[d] = {k: _digest(v) for k, v in tables.items()}
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])
