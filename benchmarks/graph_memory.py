"""The graph stage's memory apart: what ``project`` adds over its start, and the call sites at its highest.

Replays the graph stage (``graph._projection.project``) on the inputs ``benchmarks/score_stage.py``
saves (its pickle holds the signal table, the validated inputs and the configuration), with a
10 ms sampler of the resident set that records, per combination of the threads' two innermost
accountgraph frames, the highest resident set seen while they ran. Prints the stage's wall time,
the resident set at its start and at its highest, the time and pairs of each signal type's
projection, and the top sites::

    PYTHONPATH=src python benchmarks/graph_memory.py --inputs /tmp/score_in.pkl

The resident set is sticky (freed blocks stay with the allocators until reused), so a site's
figure is the highest seen while it ran, not what it holds. Linux only (``/proc/self/statm``).
"""

from __future__ import annotations

import argparse
import collections
import os
import pickle
import sys
import threading
import time
from typing import Any

import numpy as np

PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def _where(frame: Any) -> str:
    out = []
    while frame is not None:
        if "accountgraph" in frame.f_code.co_filename:
            out.append(f"{frame.f_code.co_name}:{frame.f_lineno}")
        frame = frame.f_back
    return " < ".join(out[:2])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--inputs", required=True, help="the pickle score_stage.py saves")
    p.add_argument("--top", type=int, default=12)
    a = p.parse_args(argv)
    from accountgraph.engines.local import _pipeline
    from accountgraph.graph import _projection

    with open(a.inputs, "rb") as f:
        d = pickle.load(f)
    sig, inp, cfg = d["sig"], d["inp"], d["cfg"]
    d.pop("graph", None)
    node_key = _pipeline._node_key(inp)
    sites: dict[str, int] = collections.defaultdict(int)
    peak, stop = [0], threading.Event()

    def sample() -> None:
        me = threading.get_ident()
        while not stop.is_set():
            r = _rss()
            key = " | ".join(sorted(w for t, fr in sys._current_frames().items() if t != me and (w := _where(fr))))
            sites[key] = max(sites[key], r)
            peak[0] = max(peak[0], r)
            time.sleep(0.01)

    times: dict[str, tuple[float, int]] = {}
    real = _projection._project_type

    def timed(sig_: Any, sel: np.ndarray, *args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        out = real(sig_, sel, *args, **kw)
        t = int(sig_.signal_type[sig_.signal[np.flatnonzero(sel)[0]]])
        times[sig_.type_names[t]] = (round(time.perf_counter() - t0, 1), out.nnz if out is not None else 0)
        return out

    _projection._project_type = timed
    base = _rss()
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t0 = time.perf_counter()
    g = _projection.project(sig, inp.n_accounts, cfg.graph, lambda: (None, None), node_key=node_key, seed=cfg.seed)
    wall = time.perf_counter() - t0
    stop.set()
    th.join()
    _projection._project_type = real
    gib = 2**30
    print(f"graph stage {wall:.1f} s; resident {base / gib:.2f} GiB at its start, {peak[0] / gib:.2f} GiB at its "
          f"highest: adds {(peak[0] - base) / gib:.2f} GiB; {len(g.src)} edges from {g.n_pairs} pairs")
    print("per type (s, pairs):", times)
    for key, v in sorted(sites.items(), key=lambda x: -x[1])[:a.top]:
        print(f"  + {(v - base) / gib:.2f} GiB  {key}")


if __name__ == "__main__":
    main()
