"""Oracles for the community stage: connected components against networkx."""

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
