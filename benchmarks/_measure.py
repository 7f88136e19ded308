"""Run one detection method on one dataset in a fresh process and measure it.

Used by ``run_benchmarks.py`` and ``scaling.py``; also runnable by hand::

    python benchmarks/_measure.py --method fraudar --data DIR --out result.json

How memory is measured (Linux)
------------------------------
The worker is a fresh interpreter. It imports numpy/pandas/pyarrow/igraph and
accountgraph, reads ``events.parquet`` and ``accounts.parquet`` from the data
directory, runs ``gc.collect()`` and records its resident set size
(``rss_loaded``). It then resets the kernel's peak-RSS counter by writing ``5``
to ``/proc/self/clear_refs`` (this resets ``VmHWM`` and ``ru_maxrss`` to the
current RSS), runs the method ``repeats`` times and reads the peak again
(``VmHWM``, which equals ``getrusage(RUSAGE_SELF).ru_maxrss`` here):

* ``peak_rss`` - absolute peak RSS of the process while the method ran
  (interpreter + libraries + the loaded input + the method's working memory);
* ``peak_delta`` - ``peak_rss - rss_loaded``: the method's own extra memory
  on top of the already-loaded input.

If ``clear_refs`` cannot be written, the peak is ``ru_maxrss`` over the whole
process life (so it may include a transient peak from Parquet decoding) and
``peak_reset`` is recorded as false. Wall time is ``time.perf_counter`` around
the call only (data loading and imports excluded); the median over repeats is
reported, together with the process CPU time (user + system) of the call, which
is less sensitive than wall time to other jobs sharing the machine, and the
1-minute load average before and after the runs.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["MeasureResult", "ensure_dataset", "measure", "peak_rss_kib", "reset_peak_rss", "rss_kib", "run_worker"]

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
_GENERATED: set[Path] = set()
MeasureResult = dict[str, Any]


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_kib() -> int:
    """Current resident set size of this process in KiB."""
    v = _status_kib("VmRSS")
    return v if v is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_rss_kib() -> int:
    """Peak resident set size of this process in KiB (``VmHWM`` / ``ru_maxrss``)."""
    v = _status_kib("VmHWM")
    return v if v is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reset_peak_rss() -> bool:
    """Reset the peak-RSS counter to the current RSS; False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _method(name: str, options: dict[str, Any]):  # noqa: ANN202 - returns a callable
    if name in ("detect", "detect-paths"):
        import accountgraph

        def run(events: Any, accounts: Any) -> Any:
            return accountgraph.detect(events, accounts, **{"seed": 0, **options}).assignments

        return run
    sys.path.insert(0, str(HERE))
    import baselines

    fn = baselines.BASELINES[name]
    return lambda events, accounts: fn(events, accounts, **options)


def run_worker(method: str, data: Path, out: Path, *, repeats: int = 1, options: dict[str, Any] | None = None) -> MeasureResult:
    """Body of the worker process: load, reset peak, run ``repeats`` times, save."""
    import pyarrow.parquet as pq

    fn = _method(method, options or {})
    rss_start = rss_kib()
    accounts_path = data / "accounts.parquet"
    if method == "detect-paths":  # detect reads the Parquet files itself (prompts streamed, never loaded whole)
        events: Any = str(data / "events.parquet")
        accounts: Any = str(accounts_path) if accounts_path.exists() else None
        input_bytes = 0
    else:
        events = pq.read_table(data / "events.parquet")
        accounts = pq.read_table(accounts_path) if accounts_path.exists() else None
        input_bytes = events.nbytes + (accounts.nbytes if accounts is not None else 0)
    gc.collect()
    rss_loaded = rss_kib()
    reset = reset_peak_rss()
    times: list[float] = []
    cpu: list[float] = []
    result = None
    load_before = os.getloadavg()[0]
    for _ in range(repeats):
        result = None
        gc.collect()
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        result = fn(events, accounts)
        times.append(time.perf_counter() - t0)
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    peak = peak_rss_kib()
    load_after = os.getloadavg()[0]
    import pyarrow as pa

    table = result if isinstance(result, pa.Table) else pa.Table.from_pandas(result, preserve_index=False)
    pq.write_table(table, out.with_suffix(".assignments.parquet"))
    rec: MeasureResult = {
        "method": method,
        "data": str(data),
        "repeats": repeats,
        "times_s": times,
        "median_s": statistics.median(times),
        "cpu_s": cpu,
        "median_cpu_s": statistics.median(cpu),
        "loadavg_1m": [load_before, load_after],
        "n_events": pq.ParquetFile(events).metadata.num_rows if isinstance(events, str) else events.num_rows,
        "n_accounts_in": (None if accounts is None else pq.ParquetFile(accounts).metadata.num_rows
                          if isinstance(accounts, str) else accounts.num_rows),
        "input_mib": input_bytes / 2**20,
        "rss_start_mib": rss_start / 1024,
        "rss_loaded_mib": rss_loaded / 1024,
        "peak_rss_mib": peak / 1024,
        "peak_delta_mib": (peak - rss_loaded) / 1024,
        "peak_reset": reset,
        "assignments": str(out.with_suffix(".assignments.parquet")),
        "status": "ok",
        # e.g. louvain-ip's "dropped_ips": decisions a method made that the table should show.
        "attrs": {k: v for k, v in getattr(result, "attrs", {}).items() if isinstance(v, (int, float, str))},
    }
    out.write_text(json.dumps(rec, indent=1))
    return rec


def measure(
    method: str,
    data: Path,
    out: Path,
    *,
    repeats: int = 1,
    timeout: float | None = None,
    options: dict[str, Any] | None = None,
) -> MeasureResult:
    """Run :func:`run_worker` in a fresh interpreter and return its record.

    On timeout or failure the record has ``status`` ``"timeout"`` or
    ``"error"`` (with the tail of stderr) instead of measurements.
    """
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--method", method, "--data", str(data),
        "--out", str(out), "--repeats", str(repeats), "--options", json.dumps(options or {}),
    ]
    env = dict(os.environ)
    src = str(HERE.parent / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"method": method, "data": str(data), "status": "timeout", "timeout_s": timeout}
    if proc.returncode != 0:
        logger.error("%s on %s failed:\n%s", method, data, proc.stderr[-3000:])
        return {"method": method, "data": str(data), "status": "error", "stderr": proc.stderr[-3000:]}
    rec = json.loads(out.read_text())
    rec["process_s"] = time.perf_counter() - t0
    return rec


def ensure_dataset(
    scenario: str, root: Path, *, seed: int = 0, scale: float = 1.0, regenerate: bool = False
) -> tuple[Path, float]:
    """Write ``accountgraph.synth`` data for a scenario once; return its directory.

    The directory is ``root / f"{scenario}-seed{seed}-scale{scale:g}"``; if it
    already holds ``events.parquet`` and ``labels.parquet`` nothing is generated
    unless ``regenerate`` (generated once per process run, so a scenario used
    twice in one run is not regenerated twice).
    Returns the directory and the generation time in seconds (0 if cached).
    """
    d = root / f"{scenario}-seed{seed}-scale{scale:g}"
    fresh = d in _GENERATED or not regenerate
    if fresh and (d / "events.parquet").exists() and (d / "labels.parquet").exists():
        return d, 0.0
    from accountgraph import synth

    d.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    synth.write(scenario, d, seed=seed, scale=scale)
    _GENERATED.add(d)
    return d, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--method", required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--options", default="{}", help="JSON dict of keyword options for the method")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    run_worker(a.method, a.data, a.out, repeats=a.repeats, options=json.loads(a.options))


if __name__ == "__main__":
    main()
