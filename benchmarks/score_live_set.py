"""What is live when the score stage starts: every numpy and Arrow array reachable from the pipeline.

``detect`` runs with ``_pipeline._score`` wrapped: at its entry the resident set and every array
reachable from the calling frame's locals (``inp``, ``sig``, ``graph``, ``templates``, ...) are
printed, largest first (views counted once, by their base). With the run's per-stage peaks printed
at the end, the score stage's peak minus the resident set at its entry is what the stage itself adds::

    PYTHONPATH=src python benchmarks/score_live_set.py /tmp/perf/seed2026 [--at _graph _score _result]

Linux only (``/proc/self/statm``).
"""

from __future__ import annotations

import argparse
import inspect
import os
from typing import Any

import numpy as np
import pyarrow as pa

import accountgraph
from accountgraph.engines.local import _pipeline


def _walk(obj: Any, path: str, seen: set[int], out: list[tuple[int, str, str]], depth: int = 0) -> None:
    """Append ``(bytes, path, type)`` for every array reachable from ``obj`` (attributes, dicts, sequences)."""
    if depth > 5 or id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        base = obj
        while isinstance(base.base, np.ndarray):
            base = base.base
        if base is not obj and id(base) in seen:
            return
        seen.add(id(base))
        out.append((base.nbytes, path, f"{obj.dtype} {obj.shape}"))
    elif isinstance(obj, (pa.Array, pa.ChunkedArray, pa.Table)):
        out.append((obj.nbytes, path, f"arrow {getattr(obj, 'type', 'table')} ({len(obj)},)"))
    elif isinstance(obj, dict):
        for k, v in list(obj.items())[:200]:
            _walk(v, f"{path}[{k!r}]", seen, out, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj[:200]):
            _walk(v, f"{path}[{i}]", seen, out, depth + 1)
    elif not inspect.ismodule(obj) and hasattr(obj, "__dict__"):
        for k, v in vars(obj).items():
            _walk(v, f"{path}.{k}", seen, out, depth + 1)


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("world", help="a directory with events.parquet and accounts.parquet")
    p.add_argument("--top", type=int, default=40, help="arrays to list")
    p.add_argument("--at", nargs="+", default=["_score"],
                   help="pipeline stage functions to spy on at their entry (_graph, _communities, _score, _result)")
    a = p.parse_args(argv)
    reals = {name: getattr(_pipeline, name) for name in a.at}
    for name, real in reals.items():
        setattr(_pipeline, name, _spy(name, real, a.top))
    try:
        res = accountgraph.detect(f"{a.world}/events.parquet", accounts=f"{a.world}/accounts.parquet", seed=0)
    finally:
        for name, real in reals.items():
            setattr(_pipeline, name, real)
    print("peak_rss_mib", res.stats["peak_rss_mib"])


def _spy(name: str, real: Any, top: int) -> Any:
    """``real`` wrapped: at its entry, print the resident set and the arrays reachable from its caller."""

    def spy(*args: Any, **kw: Any) -> Any:
        caller = inspect.currentframe().f_back  # type: ignore[union-attr]
        out: list[tuple[int, str, str]] = []
        seen: set[int] = set()
        for local, v in caller.f_locals.items():  # type: ignore[union-attr]
            _walk(v, local, seen, out)
        for i, v in enumerate(args):
            _walk(v, f"arg{i}", seen, out)
        out.sort(reverse=True)
        print(f"{name} entry: RSS {_rss() / 2**30:.2f} GiB; reachable arrays "
              f"{sum(x[0] for x in out) / 2**30:.2f} GiB in {len(out)} arrays", flush=True)
        for nb, path, what in out[:top]:
            print(f"{nb / 2**20:9.1f} MiB  {path}  {what}", flush=True)
        return real(*args, **kw)

    return spy


if __name__ == "__main__":
    main()
