"""Where each stage of ``detect`` reaches its peak memory: the call site at the highest RSS sampled.

``stage_memory.py`` says which stage sets the run's peak; this says which line inside it. A thread
samples the process's resident set every 20 ms and, whenever a stage's highest value so far is
passed, keeps the main thread's stack (accountgraph frames) and the other threads' innermost
frames. For the score stage it also keeps the highest RSS per call site (the three innermost
frames), so the next site in line shows when one is fixed::

    PYTHONPATH=src python benchmarks/peak_sites.py /tmp/perf/seed2026 > peak_sites.txt

Linux only (``/proc/self/statm``). Sampling misses peaks shorter than 20 ms; the per-stage peaks in
``result.stats["peak_rss_mib"]`` (the kernel's high-water mark) are printed too and are exact.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import traceback
from typing import Any

import accountgraph

_STAGES = ("_ingest", "_templates", "_graph", "_communities", "_score", "_result")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _frames(frame: Any) -> list[str]:
    return [f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in traceback.extract_stack(frame)
            if "accountgraph" in f.filename]


class _Sampler(threading.Thread):
    def __init__(self, main_id: int) -> None:
        super().__init__(daemon=True)
        self.main_id, self.stop = main_id, False
        self.best: dict[str, tuple[int, list[str], list[list[str]]]] = {}
        self.score_sites: dict[str, int] = {}

    def run(self) -> None:
        while not self.stop:
            r = _rss()
            frames = sys._current_frames()
            st = _frames(frames[self.main_id]) if self.main_id in frames else []
            stage = next((s.split()[-1] for s in st if s.startswith("_pipeline.py") and s.split()[-1] in _STAGES), "other")
            if stage == "_score" and st:
                site = " < ".join(x.split()[-1] for x in st[-3:][::-1])
                self.score_sites[site] = max(r, self.score_sites.get(site, 0))
            if r > self.best.get(stage, (0,))[0]:
                others = [_frames(f)[-4:] for tid, f in frames.items() if tid not in (self.main_id, self.ident)]
                self.best[stage] = (r, st[-8:], [o for o in others if o])
            time.sleep(0.02)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("world", help="a directory with events.parquet and accounts.parquet")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    sampler = _Sampler(threading.get_ident())
    sampler.start()
    t0 = time.perf_counter()
    res = accountgraph.detect(f"{a.world}/events.parquet", accounts=f"{a.world}/accounts.parquet", seed=a.seed)
    sampler.stop = True
    print(f"wall {time.perf_counter() - t0:.1f} s")
    print("seconds", res.stats["seconds"])
    print("peak_rss_mib", res.stats["peak_rss_mib"])
    for stage, (r, st, others) in sorted(sampler.best.items(), key=lambda x: -x[1][0]):
        print(f"== {stage}: {r / 2**30:.2f} GiB sampled")
        for s in st:
            print("   ", s)
        for o in others:
            print("    other thread:", o)
    print("== score stage, highest RSS per call site (top 12)")
    for site, r in sorted(sampler.score_sites.items(), key=lambda x: -x[1])[:12]:
        print(f"   {r / 2**30:.2f} GiB  {site}")


if __name__ == "__main__":
    main()
