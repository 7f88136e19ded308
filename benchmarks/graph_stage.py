"""The graph stage of ``detect`` timed apart, from its inputs saved once, with time per step.

``seed_scale.py`` times the whole run; this times the graph stage alone (rarity weights, type
caps, coordinated hubs, per-type projections, links, the template corroboration) on the exact
inputs ``detect`` gives it, so that a change to it can be timed in a minute instead of five.
The first run on a world saves the stage's inputs (the signal table, the events' accounts and
template families, the account order and the configuration) under ``--inputs``; later runs,
of any revision, load them::

    PYTHONPATH=/tmp/OLD/src python benchmarks/graph_stage.py /tmp/perf/seed2026 --inputs /tmp/graph_in
    PYTHONPATH=/tmp/NEW/src python benchmarks/graph_stage.py /tmp/perf/seed2026 --inputs /tmp/graph_in

Saved by one revision, loaded by another: the inputs must not have changed between the two
(they come from the stages before the graph). Each run prints the stage's wall time, the time
spent in its main steps (summed over calls; steps on other threads overlap the main one, so
they need not add up), and a digest of the graph (edges, link weights, statuses, weights),
which must agree between revisions for an output-neutral change.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import pickle
import time
import types
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

import accountgraph
from accountgraph.engines.local import _pipeline
from accountgraph.signals import SignalTable

from _steps import wrap_steps  # benchmarks/_steps.py (the script's directory is on sys.path)

STEPS = {  # module -> the functions timed (those missing in a revision are skipped)
    "accountgraph.graph._projection": ["_type_caps", "_coordinate", "_evidence_by_group", "_project_type",
                                       "_balance", "_links", "clique_projection", "circulant_pairs"],
    "accountgraph.graph._hubs": ["_by_account", "_cross_counts", "_union_counts", "_order_by_signal_then_key"],
    "accountgraph.engines.local._pipeline": ["substantial_families"],
}


class _Saved(Exception):
    pass


def save_inputs(world: Path, out: Path) -> None:
    """Run ``detect`` on the world's Parquet files up to the graph stage and save that stage's inputs."""
    def dump(cfg: Any, inp: Any, sig: SignalTable, ev_family: Any, node_key: np.ndarray) -> None:
        out.mkdir(parents=True, exist_ok=True)
        np.savez(out / "inputs.npz", account=sig.account, signal=sig.signal, n_events=sig.n_events,
                 signal_type=sig.signal_type, ev_account=inp.ev_account,
                 ev_family=np.zeros(0) if ev_family is None else ev_family, has_family=ev_family is not None,
                 node_key=node_key, n_accounts=inp.n_accounts)
        with open(out / "meta.pkl", "wb") as f:
            pickle.dump({"type_names": sig.type_names, "cfg": cfg}, f)
        raise _Saved

    graph = _pipeline._graph
    _pipeline._graph = dump
    try:
        accountgraph.detect(str(world / "events.parquet"), str(world / "accounts.parquet"), progress=False)
    except _Saved:
        pass
    finally:
        _pipeline._graph = graph


def _timed(totals: collections.Counter) -> None:
    def around(f: Any, name: str) -> Any:
        def wrapper(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                totals[name] += time.perf_counter() - t
        return wrapper

    wrap_steps(STEPS, around)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("world", type=Path, help="directory with events.parquet and accounts.parquet")
    p.add_argument("--inputs", type=Path, required=True, help="where the stage's inputs are saved / loaded")
    p.add_argument("--repeat", type=int, default=1)
    a = p.parse_args()
    if not (a.inputs / "inputs.npz").exists():
        t = time.perf_counter()
        save_inputs(a.world, a.inputs)
        print(f"saved the graph stage's inputs in {time.perf_counter() - t:.1f} s")
    z = np.load(a.inputs / "inputs.npz")
    with open(a.inputs / "meta.pkl", "rb") as f:
        meta = pickle.load(f)
    sig = SignalTable(z["account"], z["signal"], z["n_events"], z["signal_type"],
                      pa.nulls(len(z["signal_type"]), pa.string()), meta["type_names"])
    inp = types.SimpleNamespace(ev_account=z["ev_account"], n_accounts=int(z["n_accounts"]))  # what _graph reads
    family = z["ev_family"] if bool(z["has_family"]) else None
    totals: collections.Counter = collections.Counter()
    _timed(totals)
    print(f"accountgraph {accountgraph.__version__} from {accountgraph.__file__}")
    print(f"{len(sig.account):,} incidences, {sig.n_signals:,} signals, {inp.n_accounts:,} accounts")
    for r in range(a.repeat):
        totals.clear()
        t = time.perf_counter()
        g = _pipeline._graph(meta["cfg"], inp, sig, family, z["node_key"])
        wall = time.perf_counter() - t
        h = hashlib.sha256()
        for x in (g.src, g.dst, g.link, g.status, g.weight):
            h.update(np.ascontiguousarray(x).tobytes())
        steps = ", ".join(f"{k} {v:.1f}" for k, v in totals.most_common())
        print(f"run {r}: graph stage {wall:.2f} s, {g.n_edges:,} edges, digest {h.hexdigest()[:16]}; steps (s): {steps}")


if __name__ == "__main__":
    main()
