"""Every benchmark script imports (its helpers resolve) without running: ``main`` guarded.

A helper renamed in one script left ``scale_growth.py`` failing at import for sessions, unseen
because nothing imported it. One subprocess imports them all (the scripts put their own
directory on ``sys.path``, as they do when run).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "benchmarks"


def test_every_benchmark_script_imports_quickly_without_running():
    names = sorted(p.stem for p in BENCH.glob("*.py"))
    assert "scale_growth" in names and "seed_scale" in names  # the glob found the scripts
    code = ("import importlib, sys, time\n"
            f"sys.path.insert(0, {str(BENCH)!r})\n"
            "slow = []\n"
            f"for name in {names!r}:\n"
            "    t = time.perf_counter()\n"
            "    importlib.import_module(name)\n"
            "    if time.perf_counter() - t > 20:\n"
            "        slow.append(name)\n"
            "print('slow:', slow)\n")
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "slow: []" in out.stdout, out.stdout  # a script that does its work at import
    assert time.perf_counter() - t < 300
