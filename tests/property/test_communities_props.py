"""Leiden properties of the community stage over random planted cliques (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accountgraph.communities import CommunityParams, find_communities
from tests.unit.communities.test_leiden_invariants import GRID, RAW, account_graph, blocks, clique_ring, n_communities

MERGE_DENSITY = CommunityParams().merge_density

planted_cliques = st.integers(2, 6).flatmap(lambda k: st.tuples(
    st.lists(st.integers(5, 10), min_size=k, max_size=k),
    st.lists(st.floats(0.5, 1.0), min_size=k, max_size=k),
    st.floats(0.01, 0.05),
    st.integers(0, 2**16),
))


@settings(max_examples=40, deadline=None)
@given(planted_cliques)
def test_cliques_are_the_communities_at_the_default_resolution(case):
    sizes, inner, bridge, seed = case
    g, truth = clique_ring(sizes, inner, bridge, seed=seed)
    assert blocks(find_communities(g, seed=seed)) == blocks(truth)


@settings(max_examples=25, deadline=None)
@given(planted_cliques.filter(lambda case: case[2] < MERGE_DENSITY))
def test_raising_the_resolution_never_gives_fewer_communities(case):
    """Leiden itself (``RAW``) and the stage at its defaults, over the whole grid, when the bridges
    are weaker than ``merge_density`` (the link density the stage treats as one group)."""
    sizes, inner, bridge, seed = case
    g, _ = clique_ring(sizes, inner, bridge, seed=seed)
    for params in (RAW, {}):
        counts = [n_communities(find_communities(g, resolution=r, seed=seed, **params)) for r in GRID]
        assert counts == sorted(counts), (params, counts)


def test_a_bridge_as_dense_as_merge_density_is_rejoined_at_high_resolution():
    """The boundary, stated: at resolution >> 1 Leiden returns singletons, and two singletons joined
    by a link of weight >= ``merge_density`` count as dense and are rejoined, so a bridge that strong
    chains the cliques back together (the count falls from 2 to 1 as the resolution rises)."""
    g, _ = clique_ring([5, 5], [1.0, 1.0], MERGE_DENSITY, seed=0)
    counts = [n_communities(find_communities(g, resolution=r, seed=0)) for r in (1.0, 3.0)]
    assert counts == [2, 1]
    weaker, _ = clique_ring([5, 5], [1.0, 1.0], MERGE_DENSITY * 0.99, seed=0)
    assert n_communities(find_communities(weaker, resolution=3.0, seed=0)) == 2


@settings(max_examples=25, deadline=None)
@given(planted_cliques, st.integers(0, 2**16))
def test_relabelling_planted_cliques_gives_the_same_partition(case, perm_seed):
    sizes, inner, bridge, seed = case
    g, _ = clique_ring(sizes, inner, bridge, seed=seed)
    perm = np.random.default_rng(perm_seed).permutation(g.n_accounts)
    h = account_graph(g.n_accounts, perm[g.src], perm[g.dst], g.link)
    assert blocks(find_communities(h, seed=seed)[perm]) == blocks(find_communities(g, seed=seed))


def _strongest_oracle(n: int, es: np.ndarray, ed: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    """Each vertex's k heaviest edges (ties: the lower other end), by sorting in plain numpy."""
    keep = np.zeros(len(es), bool)
    for v in range(n):
        at = np.flatnonzero((es == v) | (ed == v))
        other = np.where(es[at] == v, ed[at], es[at])
        keep[at[np.lexsort((other, -w[at]))[:k]]] = True
    return keep


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 30), st.integers(1, 6), st.integers(0, 2**16), st.booleans())
def test_strongest_links_match_a_sort_and_ignore_edge_order(n, k, seed, ties):
    """Every vertex keeps its k heaviest edges (or all it has), whatever order the edges come in."""
    from accountgraph.communities._leiden import strongest_links

    rng = np.random.default_rng(seed)
    pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)], np.int64)
    pairs = pairs[rng.random(len(pairs)) < 0.6]
    es, ed = pairs[:, 0].copy(), pairs[:, 1].copy()
    w = rng.integers(1, 4, len(es)).astype(np.float64) if ties else rng.random(len(es))
    keep = strongest_links(n, es, ed, w, k)
    np.testing.assert_array_equal(keep, _strongest_oracle(n, es, ed, w, k))
    deg = np.bincount(np.r_[es, ed], minlength=n)
    kept = np.bincount(np.r_[es[keep], ed[keep]], minlength=n)
    assert (kept >= np.minimum(deg, k)).all() and keep.sum() <= k * n
    perm = rng.permutation(len(es))
    flip = rng.random(len(es)) < 0.5
    ps, pd = np.where(flip, ed, es)[perm], np.where(flip, es, ed)[perm]
    np.testing.assert_array_equal(strongest_links(n, ps, pd, w[perm], k), keep[perm])


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([3, 40, 1500]), st.integers(0, 2**16), st.floats(0.001, 0.5))
def test_merge_dense_matches_a_dict_of_cut_weights(k, seed, density):
    """Both ways of summing cut weights (over all k*k pairs, and over the unique ones when k*k is
    large) rejoin exactly the community pairs a plain dict of cut weights says are dense."""
    import networkx as nx

    from accountgraph.communities._leiden import merge_dense

    rng = np.random.default_rng(seed)
    n, m = 3 * k, int(rng.integers(1, 6 * k))
    sub = np.r_[np.arange(k), rng.integers(0, k, n - k)]
    es, ed, w = rng.integers(0, n, m), rng.integers(0, n, m), rng.random(m)
    size = np.bincount(sub, minlength=k)
    cut: dict = {}
    for a, b, x in zip(sub[es].tolist(), sub[ed].tolist(), w.tolist()):
        if a != b:
            cut[min(a, b), max(a, b)] = cut.get((min(a, b), max(a, b)), 0.0) + x
    g = nx.Graph()
    g.add_nodes_from(range(k))
    g.add_edges_from(p for p, x in cut.items() if x / (size[p[0]] * size[p[1]]) >= density)
    lab, n_merged = merge_dense(sub, es, ed, w, density)
    assert n_merged == g.number_of_edges()
    assert blocks(lab[np.arange(k)]) == {frozenset(c) for c in nx.connected_components(g)}


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(0, 400), st.integers(0, 2**32 - 1))
def test_edges_grouped_by_component_keep_their_order_within_each(n_comp, n_edges, seed):
    """``by_component`` (the counting sort ``leiden_components`` reads) is ``np.argsort(kind="stable")``
    of each edge's first-end component: Leiden's result depends on the order of the edges."""
    from accountgraph.communities._strongest_kernel import by_component

    rng = np.random.default_rng(seed)
    comp = np.sort(rng.integers(0, n_comp, 3 * n_comp + 1))
    es, ed = rng.integers(0, len(comp), n_edges), rng.integers(0, len(comp), n_edges)
    w = rng.random(n_edges)
    s, d, ww, lo = by_component(comp, es, ed, w, int(comp.max()) + 1)
    order = np.argsort(comp[es], kind="stable")
    np.testing.assert_array_equal(s, es[order])
    np.testing.assert_array_equal(d, ed[order])
    np.testing.assert_array_equal(ww, w[order])
    np.testing.assert_array_equal(lo, np.searchsorted(comp[es][order], np.arange(int(comp.max()) + 2)))


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 60), st.integers(0, 120), st.integers(0, 2**32 - 1))
def test_component_labels_are_scipys(n, n_edges, seed):
    """The compiled union-find labels components exactly as ``scipy.sparse.csgraph.connected_components``."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    from accountgraph.communities._strongest_kernel import component_labels

    rng = np.random.default_rng(seed)
    src, dst = rng.integers(0, n, n_edges), rng.integers(0, n, n_edges)
    want = connected_components(sp.coo_matrix((np.ones(n_edges), (src, dst)), shape=(n, n)), directed=False)
    got = component_labels(n, src, dst)
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])
