"""Families from band keys (templates._linking) against a sparse connected-components reference."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from accountgraph.templates._linking import band_families


def _reference(keys: np.ndarray, node: np.ndarray, n_nodes: int) -> np.ndarray:
    """Components of the node-key bipartite graph, numbered by their smallest node."""
    rows, cols = [], []
    for b in range(keys.shape[1]):
        used = keys[:, b] != 0
        _, kid = np.unique(keys[used, b], return_inverse=True)
        rows.append(node[used])
        cols.append(n_nodes + b * len(keys) + kid)
    r, c = np.concatenate(rows), np.concatenate(cols)
    n = n_nodes + keys.shape[1] * len(keys)
    adj = sp.coo_matrix((np.ones(len(r)), (r, c)), shape=(n, n))
    _, comp = connected_components(adj, directed=False)
    comp = comp[:n_nodes]
    first = np.full(comp.max() + 1, n_nodes)
    np.minimum.at(first, comp, np.arange(n_nodes))
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[comp]


@pytest.mark.parametrize("seed", range(30))
def test_band_families_equal_connected_components(seed):
    rng = np.random.default_rng(seed)
    n_rows, bands = int(rng.integers(1, 3000)), int(rng.integers(1, 6))
    n_nodes = int(rng.integers(1, n_rows + 1))
    node = rng.integers(0, n_nodes, n_rows)
    # Few distinct keys (many collisions, long chains) spread over the 64-bit range, some unused (0).
    pool = rng.integers(1, 2**63, int(rng.integers(1, 2 * n_rows)), dtype=np.int64).astype(np.uint64) * np.uint64(2)
    keys = pool[rng.integers(0, len(pool), (n_rows, bands))]
    keys[rng.random((n_rows, bands)) < 0.2] = 0
    got = band_families(keys, node, n_nodes)
    np.testing.assert_array_equal(got, _reference(keys, node, n_nodes))
    if n_rows > 100:  # not vacuous: some families merge several nodes
        assert len(np.unique(got)) < n_nodes


def test_no_shared_key_means_singletons():
    keys = np.arange(1, 11, dtype=np.uint64).reshape(5, 2)
    assert band_families(keys, np.arange(5), 5).tolist() == [0, 1, 2, 3, 4]
