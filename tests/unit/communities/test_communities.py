"""Community detection: determinism, RNG isolation, modularity gate."""

from __future__ import annotations

import random

import igraph
import numpy as np
import pytest

from accountgraph.communities._communities import find_communities, isolated_igraph_rng
from accountgraph.communities._leiden import merge_dense as _merge_dense
from accountgraph.graph._projection import AccountGraph


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


def test_densely_cross_linked_cells_stay_one_cluster():
    # two cliques of 10 (payment cells) with a third of cross pairs linked (shared stack)
    k = 10
    edges = [(i, j) for i in range(k) for j in range(i + 1, k)]
    edges += [(k + i, k + j) for i in range(k) for j in range(i + 1, k)]
    edges += [(i, k + j) for i in range(k) for j in range(k) if (i + j) % 3 == 0]
    w = [2.0 if (a < k) == (b < k) else 0.6 for a, b in sorted(edges)]
    m = find_communities(_graph(edges, 2 * k, w), seed=0)
    assert len(set(m.tolist())) == 1


def test_merge_dense_rule():
    sub = np.array([0, 0, 1, 1, 2, 2])
    es, ed = np.array([0, 1, 0]), np.array([2, 3, 4])
    w = np.array([0.5, 0.5, 0.1])
    merged, n = _merge_dense(sub, es, ed, w, merge_density=0.2)
    # 0-1 density 1.0/4 = 0.25 >= 0.2 -> merged; 0-2 density 0.1/4 -> not
    assert n == 1 and merged[0] == merged[2] != merged[4]


def test_rng_is_isolated_and_restored():
    state = random.getstate()
    with isolated_igraph_rng(5):
        igraph.Graph.Erdos_Renyi(50, 0.1)
    assert random.getstate() == state


def test_detach_weak_members():
    from accountgraph.communities._communities import detach_weak_members

    # a 6-clique (strength 5 each) plus account 6 hanging on by one 0.5 link
    k = 6
    edges = sorted([(i, j) for i in range(k) for j in range(i + 1, k)] + [(0, 6)])
    w = [0.5 if e == (0, 6) else 1.0 for e in edges]
    g = _graph(edges, 8, w)
    memb = np.array([0, 0, 0, 0, 0, 0, 0, -1])
    out, n = detach_weak_members(memb, g, min_strength=0.15)
    assert n == 1 and out.tolist() == [0, 0, 0, 0, 0, 0, -1, -1]
    # small communities are left alone
    out, n = detach_weak_members(memb, g, min_strength=0.15, min_size=8)
    assert n == 0 and out.tolist() == memb.tolist()


def test_detach_keeps_a_sparser_ring_beside_a_denser_one():
    from accountgraph.communities._communities import detach_weak_members

    # one community: a 12-clique (strength 11), a sparser ring of 4 (a 4-cycle, strength 2,
    # one of them also tied to the clique) and a household (16) tied by one 0.3 link
    k = 12
    edges = [(i, j) for i in range(k) for j in range(i + 1, k)]
    edges += [(12, 13), (13, 14), (14, 15), (12, 15), (0, 12), (1, 16)]
    w = [0.3 if e == (1, 16) else 1.0 for e in edges]
    order = np.argsort([a * 100 + b for a, b in edges])
    g = _graph([edges[i] for i in order], 18, [w[i] for i in order])
    memb = np.array([0] * 17 + [-1])
    out, _ = detach_weak_members(memb, g, min_strength=0.15)
    assert out[12:16].tolist() == [0, 0, 0, 0] and out[16] == -1
    # against the median (the clique), the sparser ring would have been detached
    out, _ = detach_weak_members(memb, g, min_strength=0.2, quantile=0.5)
    assert (out[12:17] == -1).sum() >= 4


def test_attach_by_shared_signals():
    from accountgraph.communities._communities import attach_by_shared_signals
    from accountgraph.graph._projection import AccountGraph

    # community 0 = accounts 0..9. Account 10 shares 8 of its 10 signals with them,
    # each signal used by 3 members; account 11 (a household behind one exit) shares 1;
    # account 12 shares 8 signals in which the community is a small minority
    # (each also used by 20 strangers 20..39).
    inc = []
    for s in range(10):
        inc += [(m, s) for m in (s % 10, (s + 1) % 10, (s + 2) % 10)]
        if s < 8:
            inc.append((10, s))
    inc += [(10, 100), (10, 101)]
    inc.append((11, 0))
    for s in range(20, 28):
        inc += [(0, s), (1, s), (12, s)] + [(x, s) for x in range(20, 40)]
    acc = np.array([a for a, _ in inc], np.int64)
    sig = np.array([s for _, s in inc], np.int64)
    degree = np.bincount(sig, minlength=102)
    weight = np.where(degree >= 2, 0.5, 0.0)
    weight[[100, 101]] = 0.5  # projectable signals of account 10 that it shares with no member
    g = AccountGraph(40, degree, weight, np.zeros(102, np.int8), np.zeros(0, np.int64), np.zeros(0, np.int64),
                     np.zeros(0), 500.0, 0)
    memb = np.full(40, -1, np.int64)
    memb[:10] = 0
    out, n = attach_by_shared_signals(memb, acc, sig, g, min_signals=5, min_share=0.5)
    assert n == 1 and out[10] == 0 and out[11] == -1 and out[12] == -1
    assert (out[:10] == 0).all()
    # a high share bar keeps account 10 out (8 of 10 signals < 0.9)
    out, n = attach_by_shared_signals(memb, acc, sig, g, min_signals=5, min_share=0.9)
    assert n == 0
    out, n = attach_by_shared_signals(memb, acc, sig, g, min_signals=0)
    assert n == 0 and out.tolist() == memb.tolist()
    # members have 3-5 signals concentrated in their community (median 3); a bar of
    # 3x the median member (9 > 8 shared) keeps account 10 out
    out, n = attach_by_shared_signals(memb, acc, sig, g, min_signals=5, min_strength=3.0)
    assert n == 0


def test_attach_without_large_communities_is_a_no_op():
    from accountgraph.communities._communities import attach_by_shared_signals
    from accountgraph.graph._projection import AccountGraph

    g = AccountGraph(4, np.array([2]), np.array([0.5]), np.zeros(1, np.int8), np.zeros(0, np.int64),
                     np.zeros(0, np.int64), np.zeros(0), 500.0, 0)
    memb = np.array([0, 0, -1, -1])
    out, n = attach_by_shared_signals(memb, np.array([0, 1]), np.array([0, 0]), g, min_signals=1)
    assert n == 0 and out.tolist() == memb.tolist()


def test_dense_rings_partitioned_on_their_strongest_links(monkeypatch, caplog):
    """Two dense 60-account rings under noise: Leiden on each account's 8 strongest links finds them,
    as it does on every link, and merging and detaching still read every link. Graphs of fewer
    than SPARSE_MIN_EDGES links always get every link."""
    import logging

    from accountgraph.communities import _leiden
    from accountgraph.communities._leiden import leiden_one, strongest_links

    rng = np.random.default_rng(3)
    n = 120
    i, j = np.triu_indices(n, 1)
    same = (i < 60) == (j < 60)
    take = np.where(same, rng.random(len(i)) < 0.9, rng.random(len(i)) < 0.05)
    es, ed = i[take].astype(np.int64), j[take].astype(np.int64)
    w = np.where(same[take], rng.uniform(0.5, 1.0, take.sum()), rng.uniform(0.05, 0.2, take.sum()))
    keep = strongest_links(n, es, ed, w, 8)
    assert keep.sum() < 0.2 * len(es) and same[take][keep].all()
    truth = (np.arange(n) >= 60).astype(np.int64)
    caplog.set_level(logging.DEBUG, logger="accountgraph.communities._leiden")
    leiden_one(n, es, ed, w, resolution=1.0, seed=0, n_iterations=-1, top_links=8)
    assert len(es) < _leiden.SPARSE_MIN_EDGES and "edges kept" not in caplog.text
    monkeypatch.setattr(_leiden, "SPARSE_MIN_EDGES", 0)
    for top in (0, 8):
        lab = leiden_one(n, es, ed, w, resolution=1.0, seed=0, n_iterations=-1, top_links=top)
        assert len(set(zip(lab.tolist(), truth.tolist()))) == 2 == len(np.unique(lab))
    g = _graph(np.c_[es, ed].tolist(), n, w.tolist())
    full = find_communities(g, seed=0, top_links=0)
    assert (find_communities(g, seed=0, top_links=8) == full).all()
    assert f"{int(keep.sum())} of {len(es)} edges kept" in caplog.text
    with pytest.raises(ValueError, match="at least one edge"):
        strongest_links(n, es, ed, w, 0)
    with pytest.raises(ValueError, match="vertices 0..119"):
        strongest_links(n, es, ed + 1, w, 8)
