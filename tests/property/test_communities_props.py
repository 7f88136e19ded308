"""Leiden properties of the community stage over random planted cliques (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accountgraph.communities import find_communities
from tests.unit.communities.test_leiden_invariants import GRID, RAW, account_graph, blocks, clique_ring, n_communities

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
@given(planted_cliques)
def test_raising_the_resolution_never_gives_fewer_communities(case):
    """Leiden itself (``RAW``: no rejoining) over the whole grid; the stage at its defaults up to
    resolution 1. Above that, the rejoining step can reunite what Leiden split (next test)."""
    sizes, inner, bridge, seed = case
    g, _ = clique_ring(sizes, inner, bridge, seed=seed)
    for params, grid in ((RAW, GRID), ({}, [r for r in GRID if r <= 1.0])):
        counts = [n_communities(find_communities(g, resolution=r, seed=seed, **params)) for r in grid]
        assert counts == sorted(counts), (params, counts)


@pytest.mark.xfail(strict=True, reason=(
    "known: at resolution >> 1 Leiden returns singletons, and _merge_dense rejoins any two singletons "
    "whose one link weighs >= merge_density, chaining across the weak bridge between cliques; the "
    "default resolution 1 is not affected. Strict: a fix makes this test pass, and it must then lose the mark."))
def test_rejoining_does_not_chain_singletons_across_a_bridge_at_high_resolution():
    g, _ = clique_ring([5, 5], [1.0, 1.0], 0.05, seed=0)
    assert n_communities(find_communities(g, resolution=3.0, seed=0)) >= 2


@settings(max_examples=25, deadline=None)
@given(planted_cliques, st.integers(0, 2**16))
def test_relabelling_planted_cliques_gives_the_same_partition(case, perm_seed):
    sizes, inner, bridge, seed = case
    g, _ = clique_ring(sizes, inner, bridge, seed=seed)
    perm = np.random.default_rng(perm_seed).permutation(g.n_accounts)
    h = account_graph(g.n_accounts, perm[g.src], perm[g.dst], g.link)
    assert blocks(find_communities(h, seed=seed)[perm]) == blocks(find_communities(g, seed=seed))
