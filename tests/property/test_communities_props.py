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
