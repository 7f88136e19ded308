"""The direct clique projection (graph._clique) equals scipy's triu(B B^T, 1), bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from accountgraph.graph._clique import clique_projection


def _reference(account, signal, value, n):
    s_ids, s_local = np.unique(signal, return_inverse=True)
    b = sp.csr_matrix((value, (account, s_local)), shape=(n, len(s_ids)))
    return sp.triu(b @ b.T, k=1).tocsr()


@pytest.mark.parametrize("seed", range(40))
def test_clique_projection_equals_the_sparse_product(seed):
    rng = np.random.default_rng(seed)
    n, n_sig = int(rng.integers(1, 80)), int(rng.integers(1, 40))
    pairs = {(int(a), int(s)) for a, s in zip(rng.integers(0, n, 300), rng.integers(0, n_sig, 300))}
    inc = np.array(sorted(pairs, key=lambda x: (x[1], x[0])), np.int64).reshape(-1, 2)
    lam_sig = rng.random(n_sig) * 3
    lam_sig[rng.random(n_sig) < 0.2] = 0.0  # zero evidence: the product leaves such pairs out
    factor = np.where(rng.random(n) < 0.3, rng.random(n), 1.0)  # holder factors, as the projection uses them
    value = np.sqrt(lam_sig[inc[:, 1]]) * factor[inc[:, 0]]
    got = clique_projection(inc[:, 0], inc[:, 1], value, n)
    ref = _reference(inc[:, 0], inc[:, 1], value, n)
    np.testing.assert_array_equal(got.indptr, ref.indptr)
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_array_equal(got.data, ref.data)  # same summation order: equal to the last bit
    assert got.nnz == 0 or (got.tocoo().row < got.tocoo().col).all()


def test_empty_input():
    assert clique_projection(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), 4).nnz == 0
