"""Community detection: determinism, RNG isolation, modularity gate."""

from __future__ import annotations

import random

import igraph
import numpy as np
import pytest

from accountgraph._detect import _component_modularity, find_communities, isolated_igraph_rng
from accountgraph._graph import AccountGraph


def _graph(edges, n, w=None):
    e = np.array(sorted(edges), np.int64).reshape(-1, 2)
    w = np.ones(len(e)) if w is None else np.asarray(w, float)
    return AccountGraph(n, np.zeros(0), np.zeros(0), np.zeros(0), e[:, 0], e[:, 1], w, 10.0, len(e))


def _two_cliques_bridge(k=10):
    edges = [(i, j) for i in range(k) for j in range(i + 1, k)]
    edges += [(k + i, k + j) for i in range(k) for j in range(i + 1, k)]
    edges.append((0, k))
    return _graph(edges, 2 * k + 3)


def test_components_and_isolated():
    g = _graph([(0, 1), (1, 2), (4, 5)], 7)
    m = find_communities(g, method="components")
    assert m[3] == -1 and m[6] == -1
    assert m[0] == m[1] == m[2] != m[4] == m[5]


def test_leiden_splits_bridged_cliques_deterministically():
    g = _two_cliques_bridge()
    a = find_communities(g, seed=3)
    b = find_communities(g, seed=3)
    assert np.array_equal(a, b)
    assert len(set(a[:10])) == 1 and len(set(a[10:20])) == 1 and a[0] != a[10]
    assert (a[20:] == -1).all()


def test_modularity_gate_keeps_unstructured_component_whole():
    # a single clique has no community structure: never split
    k = 30
    g = _graph([(i, j) for i in range(k) for j in range(i + 1, k)], k)
    m = find_communities(g, seed=0, split_min_size=2)
    assert len(set(m.tolist())) == 1


def test_rng_is_isolated_and_restored():
    state = random.getstate()
    with isolated_igraph_rng(5):
        igraph.Graph.Erdos_Renyi(50, 0.1)
    assert random.getstate() == state


def test_component_modularity_matches_igraph():
    rng = np.random.default_rng(1)
    g = igraph.Graph.Erdos_Renyi(60, 0.1, directed=False)
    el = np.array(g.get_edgelist())
    w = rng.uniform(0.5, 2, len(el))
    memb = np.array(g.community_multilevel(weights=w.tolist()).membership)
    comp = np.zeros(60, np.int64)
    ours = _component_modularity(comp, memb, el[:, 0], el[:, 1], w)[0]
    assert ours == pytest.approx(g.modularity(memb.tolist(), weights=w.tolist()), abs=1e-9)
