"""Oracles for the community stage: components against networkx, Leiden against igraph's community_leiden."""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accountgraph.communities._communities import find_communities


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 40), st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39)), max_size=80))
def test_components_match_networkx(n, edges):
    edges = sorted({(min(a, b), max(a, b)) for a, b in edges if a != b and a < n and b < n})
    from accountgraph.graph._projection import AccountGraph

    e = np.array(edges, np.int64).reshape(-1, 2)
    g = AccountGraph(n, np.zeros(0), np.zeros(0), np.zeros(0), e[:, 0], e[:, 1], np.ones(len(e)), 10.0, len(e))
    m = find_communities(g, method="components")
    ref = nx.Graph()
    ref.add_nodes_from(range(n))
    ref.add_edges_from(edges)
    ours = {frozenset(np.flatnonzero(m == c).tolist()) for c in set(m.tolist()) if c >= 0}
    theirs = {frozenset(c) for c in nx.connected_components(ref) if len(c) > 1}
    assert ours == theirs


# ---------------------------------------------------------------- Leiden against igraph's own community_leiden

import random  # noqa: E402

import igraph  # noqa: E402
import pytest  # noqa: E402

from tests.unit.communities.test_leiden_invariants import RAW, blocks, clique_ring, random_graph  # noqa: E402


def igraph_leiden(g, *, resolution=1.0, seed=0, objective="modularity"):
    """igraph's community_leiden with the objective, weights, resolution and seed the stage documents."""
    ig = igraph.Graph(n=g.n_accounts, edges=np.column_stack([g.src, g.dst]).tolist(), directed=False)
    igraph.set_random_number_generator(random.Random(seed))
    try:
        part = ig.community_leiden(objective_function=objective, weights=g.link.tolist(),
                                   resolution=resolution, n_iterations=-1)
    finally:
        igraph.set_random_number_generator(random)
    return np.asarray(part.membership), ig


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("resolution", [0.5, 1.0, 2.0])
def test_raw_leiden_is_igraphs_partition_and_quality(seed, resolution):
    # One connected graph, every account in it, no rejoining: the stage is igraph's Leiden.
    g, _ = clique_ring([6, 9, 7, 8], [1.0, 0.7, 0.9, 0.6], 0.3, seed=seed)
    ours = find_communities(g, resolution=resolution, seed=seed, **RAW)
    want, ig = igraph_leiden(g, resolution=resolution, seed=seed)
    assert blocks(ours) == blocks(want)
    q = ig.modularity(ours.tolist(), weights=g.link.tolist(), resolution=resolution)
    assert q == pytest.approx(ig.modularity(want.tolist(), weights=g.link.tolist(), resolution=resolution))


@pytest.mark.parametrize("seed", range(6))
def test_defaults_only_coarsen_igraphs_partition(seed):
    # With the default density rejoining, every igraph community lies inside one of ours.
    g = random_graph(200 + seed, n=30, m=120)
    ours = find_communities(g, seed=seed, split_min_size=1)
    want, _ = igraph_leiden(g, seed=seed)
    linked = ours >= 0
    for c in np.unique(want[linked]):
        assert np.unique(ours[linked & (want == c)]).size == 1


def test_oracle_can_tell_objectives_apart():
    # Negative control: CPM at the same resolution gives another partition on this graph.
    g, _ = clique_ring([6, 9, 7, 8], [1.0, 0.7, 0.9, 0.6], 0.3)
    ours = find_communities(g, **RAW)
    cpm, _ = igraph_leiden(g, objective="CPM")
    assert blocks(ours) != blocks(cpm)
