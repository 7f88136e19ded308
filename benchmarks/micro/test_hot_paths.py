"""Micro-benchmarks of the hot paths (pytest-benchmark). Not part of the test suite.

Run: ``.venv/bin/python -m pytest benchmarks/micro --benchmark-only -q``
(``tests/`` is the test suite's only ``testpaths`` entry, so these never run as tests).
Inputs are built once per module, seeded; each benchmark times one stage.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from accountgraph.graph._projection import build_graph
from accountgraph.ingest._schema import factorize_sorted
from accountgraph.scoring._score import score_clusters
from accountgraph.signals._extract import SignalTable, unique_counts
from accountgraph.templates._families import shingle_signatures

N_EVENTS = 1_000_000
RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def ids():
    return pa.array([f"acct_{i:08x}" for i in RNG.integers(0, 50_000, N_EVENTS)])


@pytest.fixture(scope="module")
def incidence():
    acc = RNG.integers(0, 50_000, 400_000)
    sig = np.minimum(RNG.zipf(1.8, 400_000), 120_000) - 1
    key, _ = unique_counts(acc * 200_000 + sig)
    a, s = key // 200_000, key % 200_000
    o = np.lexsort((a, s))
    n_sig = int(s.max()) + 1
    return SignalTable(a[o], s[o], np.ones(len(a), np.int64), (np.arange(n_sig) % 3).astype(np.int16),
                       pa.array([str(i) for i in range(n_sig)], pa.large_string()), ["device", "ip", "payment"])


@pytest.fixture(scope="module")
def prompts():
    words = np.array([f"w{i}" for i in range(20_000)])
    idx = RNG.zipf(1.3, (20_000, 60)) % 20_000
    return pa.array([" ".join(words[r]) for r in idx])


def test_factorize_sorted_1m(benchmark, ids):
    codes, uniq = benchmark(factorize_sorted, ids)
    assert len(uniq) <= 50_000


def test_unique_counts_1m(benchmark):
    key = RNG.integers(0, 2_000_000, N_EVENTS)
    u, c = benchmark(unique_counts, key)
    assert c.sum() == N_EVENTS


def test_build_graph(benchmark, incidence):
    g = benchmark(build_graph, incidence, 50_000)
    assert g.n_pairs > 0


def test_shingle_signatures_20k_prompts(benchmark, prompts):
    sig, bad = benchmark(shingle_signatures, prompts, num_perm=64)
    assert sig.shape == (20_000, 64) and bad == 0


def test_score_clusters_1m(benchmark):
    acc_cluster = np.where(RNG.random(50_000) < 0.2, RNG.integers(0, 2_000, 50_000), -1)
    ev_account = RNG.integers(0, 50_000, N_EVENTS)
    ts = 1_777_593_600_000_000 + RNG.integers(0, 30 * 86_400, N_EVENTS) * 1_000_000
    out = RNG.integers(0, 4_000, N_EVENTS)
    df = benchmark(score_clusters, n_clusters=2_000, acc_cluster=acc_cluster, ev_account=ev_account,
                   ev_ts_us=ts, ev_output=out, ev_family=None, created_us=None)
    assert len(df) == 2_000
