"""detect at this checkout against another checkout, on the same Parquet data, alternated in one run.

Each run is a fresh subprocess (peak RSS = the child's ``ru_maxrss``); the two
revisions alternate, so machine load hits both alike; medians and the ratio
are reported, and the assignments of both are compared byte for byte::

    git archive <rev> | tar -x -C /tmp/oldrev
    .venv/bin/python benchmarks/side_by_side.py /tmp/small1m --baseline-src /tmp/oldrev/src --repeats 3

The baseline is called with its own ``detect(events, accounts, seed=0)``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

_CHILD = r"""
import hashlib, json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import pandas as pd
import accountgraph
data = sys.argv[2]
t0 = time.perf_counter()
res = accountgraph.detect(data + "/events.parquet", data + "/accounts.parquet", seed=0)
wall = time.perf_counter() - t0
a = res.assignments.sort_values("account_id")[["account_id", "cluster_id", "ring_score", "flagged"]]
digest = hashlib.sha256(pd.util.hash_pandas_object(a, index=False).to_numpy().tobytes()).hexdigest()
print(json.dumps({"wall_s": wall, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "digest": digest, "n_events": int(res.stats["n_events"]),
                  "stage_peak_mib": res.stats.get("peak_rss_mib"), "stage_s": res.stats.get("seconds")}))
"""


def _one(src: Path, data: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(src), str(data)], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path, help="directory with events.parquet and accounts.parquet")
    p.add_argument("--baseline-src", type=Path, required=True)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args(argv)
    runs: dict[str, list[dict]] = {"this": [], "baseline": []}
    for _ in range(a.repeats):
        runs["this"].append(_one(HERE.parent / "src", a.data))
        runs["baseline"].append(_one(a.baseline_src, a.data))
    out = {}
    for k, rs in runs.items():
        out[k] = {"wall_s": statistics.median(r["wall_s"] for r in rs),
                  "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in rs),
                  "digests": sorted({r["digest"] for r in rs}), "n_events": rs[0]["n_events"],
                  "runs": [{k: r.get(k) for k in ("wall_s", "peak_rss_mib", "stage_peak_mib", "stage_s")} for r in rs]}
    out["ratio_wall"] = out["this"]["wall_s"] / out["baseline"]["wall_s"]
    out["ratio_peak"] = out["this"]["peak_rss_mib"] / out["baseline"]["peak_rss_mib"]
    out["same_assignments"] = out["this"]["digests"] == out["baseline"]["digests"]
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
