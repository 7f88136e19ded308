"""Oracle for graph building: the projection equals the documented formula evaluated pair by pair on a networkx bipartite graph."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accountgraph.graph._projection import DEFAULT_TYPE_WEIGHTS, EVIDENCE_GROUPS, HUB, build_graph, rarity_weight
from accountgraph.signals._extract import SignalTable


TYPES = ["device", "ip", "ip_net", "payment", "template"]


@st.composite
def incidences(draw):
    n_acc = draw(st.integers(3, 25))
    n_sig = draw(st.integers(1, 15))
    types = draw(st.lists(st.integers(0, len(TYPES) - 1), min_size=n_sig, max_size=n_sig))
    pairs = draw(st.sets(st.tuples(st.integers(0, n_acc - 1), st.integers(0, n_sig - 1)), min_size=1, max_size=120))
    return n_acc, types, sorted(pairs, key=lambda p: (p[1], p[0]))


def _brute(n_acc, types, pairs, cap_param, min_link):
    """The documented formula, pair by pair, on a networkx bipartite graph."""
    b = nx.Graph()
    b.add_nodes_from((("a", a) for a in range(n_acc)), bipartite=0)
    for a, s in pairs:
        b.add_edge(("a", a), ("s", s))
    deg = {s: b.degree(("s", s)) for s in {p[1] for p in pairs}}
    cap = min(cap_param, max(10.0, 0.5 * n_acc))
    out = {}
    for i, j in itertools.combinations(range(n_acc), 2):
        shared = set(b[("a", i)]) & set(b[("a", j)])
        per_type = {}
        for _, s in shared:
            d = deg[s]
            if d > cap:
                continue
            w = min(float(rarity_weight(np.array([d]), cap)[0]), 0.999)
            per_type.setdefault(TYPES[types[s]], []).append(w)
        groups = {}
        for t, ws in per_type.items():
            e = DEFAULT_TYPE_WEIGHTS[t] * (1 - math.prod(1 - w for w in ws))
            g = EVIDENCE_GROUPS.get(t, t)
            groups[g] = max(groups.get(g, 0.0), e)
        total = sum(groups.values())
        if total >= min_link:
            out[(i, j)] = total
    return out


@settings(max_examples=60, deadline=None)
@given(data=incidences(), cap=st.sampled_from([3, 5, 500]), min_link=st.sampled_from([0.1, 0.3, 0.5]))
def test_projection_matches_bruteforce(data, cap, min_link):
    n_acc, types, pairs = data
    acc = np.array([p[0] for p in pairs], np.int64)
    sig = np.array([p[1] for p in pairs], np.int64)
    used = sorted(set(TYPES[t] for t in types))
    t = SignalTable(acc, sig, np.ones(len(acc), np.int64), np.array([used.index(TYPES[x]) for x in types], np.int16),
                    pa.array([str(i) for i in range(len(types))], pa.large_string()), used)
    g = build_graph(t, n_acc, max_signal_degree=cap, min_link=min_link)
    got = {(int(a), int(b)): float(w) for a, b, w in zip(g.src, g.dst, g.link)}
    want = _brute(n_acc, types, pairs, cap, min_link)
    # values within float tolerance; the edge sets agree except exactly at the threshold
    for k in set(got) | set(want):
        if k in got and k in want:
            assert got[k] == pytest.approx(want[k], rel=1e-9, abs=1e-12)
        else:
            v = got.get(k, want.get(k))
            assert v == pytest.approx(min_link, abs=1e-9), (k, got.get(k), want.get(k))
    assert all(g.status[s] == HUB for s in range(len(types)) if g.degree[s] > g.cap)
