"""The score stage of ``detect`` apart, from its inputs saved once: wall time, memory it adds, where it peaks.

``peak_sites.py`` finds the call site at each stage's peak in a whole run (five minutes at seed
scale); this replays the score stage alone on the exact inputs ``detect`` gives it, so that a
change can be measured in a minute. The first run on a world saves the inputs of
``_pipeline._score`` (configuration, validated events, clusters, graph, signal table) under
``--inputs`` with pickle; later runs, of any revision whose stages before scoring give the
same inputs, load them::

    PYTHONPATH=/tmp/OLD/src python benchmarks/score_stage.py /tmp/perf/seed2026 --inputs /tmp/score_in.pkl
    PYTHONPATH=/tmp/NEW/src python benchmarks/score_stage.py /tmp/perf/seed2026 --inputs /tmp/score_in.pkl

Each run prints the stage's wall time, the resident set at its start and at its highest (a
10 ms sampler; peaks shorter than that are missed), their difference (what the stage adds),
the highest resident set per combination of call sites running at the time (two innermost
accountgraph frames per thread), and digests of the feature table and of the cluster pairs,
which must agree between revisions for an output-neutral change. Linux only (``/proc``).

``--serial`` runs the stage's pieces one after the other on the main thread (the helper
threads' work in place) and prints, for each step of :data:`STEPS` (where the revision has
it), the resident set it adds at its highest over what was resident when it started, what it
leaves resident, and its time: an attribution of the stage's memory to its steps.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import inspect
import os
import pickle
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

import accountgraph
from accountgraph._parallel import beside
from accountgraph.engines.local import _pipeline

from _steps import wrap_steps  # benchmarks/_steps.py (the script's directory is on sys.path)

_PAGE = os.sysconf("SC_PAGE_SIZE")

STEPS = {  # module -> the functions attributed by --serial (those missing in a revision are skipped)
    "accountgraph.scoring._features": ["account_activity", "_timing", "_cadence", "_templates", "_output",
                                       "_creation", "_pivot"],
    "accountgraph.scoring._behaviour": ["infrastructure_features", "exits_per_day", "_ip_concentration",
                                        "rhythm_features"],
    "accountgraph.scoring._facts": ["_population"],
    "accountgraph.scoring._score": ["cluster_features", "signal_concentration"],
    "accountgraph.scoring._teams": ["add_team_blocks"],
    "accountgraph.signals._pairs": ["cluster_pairs"],
}


class _Saved(Exception):
    pass


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def save_inputs(world: Path, out: Path) -> None:
    """Run ``detect`` on the world's Parquet files up to the score stage and pickle that stage's inputs."""
    real = _pipeline._score

    def dump(cfg: Any, inp: Any, acc_cluster: np.ndarray, n_cl: int, ev_family: Any, pairs_later: Any,
             graph: Any, sig: Any, *rest: Any) -> None:
        pairs_later()  # let the helper thread finish before the process is torn down
        with open(out, "wb") as f:
            pickle.dump({"cfg": cfg, "inp": inp, "acc_cluster": acc_cluster, "n_cl": n_cl, "ev_family": ev_family,
                         "graph": graph, "sig": sig}, f, protocol=5)
        raise _Saved

    _pipeline._score = dump
    try:
        accountgraph.detect(str(world / "events.parquet"), str(world / "accounts.parquet"), seed=0, progress=False)
    except _Saved:
        pass
    finally:
        _pipeline._score = real


def _frames(fr: Any) -> str:
    out = []
    while fr is not None and len(out) < 2:
        if "accountgraph" in fr.f_code.co_filename:
            out.append(f"{fr.f_code.co_name}:{fr.f_lineno}")
        fr = fr.f_back
    return " < ".join(out)


def _run(d: dict) -> tuple[Any, Any]:
    """The stage as ``_run_stages`` runs it (with the revision's helper lane, if it has one)."""
    from accountgraph.signals import _pairs

    cluster_pairs = _pairs.cluster_pairs  # looked up now: --serial wraps it
    sig, acc_cluster = d["sig"], d["acc_cluster"]
    args = (d["cfg"], d["inp"], acc_cluster, d["n_cl"], d["ev_family"])
    if "lane" in inspect.signature(_pipeline._score).parameters:
        from accountgraph._parallel import Lane

        with Lane() as lane:
            later = beside(cluster_pairs, sig.account, sig.signal, acc_cluster, sig.n_signals, lane=lane)
            feats, _, pairs = _pipeline._score(*args, later, d["graph"], sig, lane)
    else:
        later = beside(cluster_pairs, sig.account, sig.signal, acc_cluster, sig.n_signals)
        feats, _, pairs = _pipeline._score(*args, later, d["graph"], sig)
    return feats, pairs


def _serial(report: list, active: list) -> None:
    """Run the helper threads' work in place and wrap the steps of STEPS to record their memory."""
    from accountgraph import _parallel

    def in_place(fn: Any, *args: Any, lane: Any = None) -> Any:
        out = fn(*args)
        return lambda: out

    real = _parallel.beside  # (the loop replaces _parallel's own too)
    for mod in [m for name, m in sys.modules.items() if name.startswith("accountgraph") and m is not None]:
        if getattr(mod, "beside", None) is real:
            mod.beside = in_place
    globals()["beside"] = in_place  # _run's

    def around(f: Any, name: str) -> Any:
        def wrapper(*a: Any, **k: Any) -> Any:
            entry = [_rss(), _rss(), time.perf_counter()]  # at start, highest, start time
            active.append(entry)
            try:
                return f(*a, **k)
            finally:
                active.pop()
                entry[1] = max(entry[1], _rss())
                for outer in active:
                    outer[1] = max(outer[1], entry[1])
                report.append((len(active), name, entry[1] - entry[0], _rss() - entry[0], time.perf_counter() - entry[2]))
        return wrapper

    wrap_steps(STEPS, around, everywhere=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("world", type=Path, help="directory with events.parquet and accounts.parquet")
    p.add_argument("--inputs", type=Path, required=True, help="the pickle of the stage's inputs (saved if missing)")
    p.add_argument("--sites", type=int, default=8, help="call-site combinations to list")
    p.add_argument("--serial", action="store_true", help="one thread; attribute the memory to the stage's steps")
    a = p.parse_args()
    if not a.inputs.exists():
        t = time.perf_counter()
        save_inputs(a.world, a.inputs)
        print(f"saved the score stage's inputs in {time.perf_counter() - t:.1f} s")
    with open(a.inputs, "rb") as f:
        d = pickle.load(f)
    sites: dict[str, int] = collections.defaultdict(int)
    done = threading.Event()
    report: list = []
    active: list = []
    if a.serial:
        _serial(report, active)

    def sample() -> None:
        me = threading.get_ident()
        while not done.is_set():
            r = _rss()
            for entry in list(active):
                entry[1] = max(entry[1], r)
            key = " | ".join(sorted(s for t, fr in sys._current_frames().items() if t != me and (s := _frames(fr))))
            sites[key] = max(sites[key], r)
            time.sleep(0.01)

    print(f"accountgraph from {accountgraph.__file__}")
    base = _rss()
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t = time.perf_counter()
    feats, pairs = _run(d)
    wall = time.perf_counter() - t
    done.set()
    th.join()
    peak = max(sites.values(), default=base)
    gib = 2.0**30
    print(f"score stage {wall:.1f} s; resident {base / gib:.2f} GiB at its start, {peak / gib:.2f} GiB at its "
          f"highest: adds {(peak - base) / gib:.2f} GiB")
    for key, v in sorted(sites.items(), key=lambda kv: -kv[1])[:a.sites]:
        print(f"  +{(v - base) / gib:5.2f} GiB  {key}")
    for depth, name, added, kept, secs in report:
        print(f"  {'  ' * depth}{name:<26} adds {added / gib:5.2f} GiB at its highest, leaves {kept / gib:+5.2f} GiB, "
              f"{secs:5.1f} s")
    fd = hashlib.sha1(feats.to_csv().encode()).hexdigest()[:16]
    h = hashlib.sha1()
    for x in (pairs.rows, pairs.pair, pairs.cluster, pairs.signal, pairs.count):
        h.update(np.ascontiguousarray(x).astype(np.int64).tobytes())  # values, whatever the dtype
    print(f"features digest {fd}; cluster pairs digest {h.hexdigest()[:16]}")


if __name__ == "__main__":
    main()
