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


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("seed", range(30))
def test_band_families_equal_connected_components(seed, split, monkeypatch):
    """Bands in one pass, or (``split``) in two halves on two threads united after."""
    from accountgraph.templates import _linking

    monkeypatch.setattr(_linking, "_SPLIT_MIN_ROWS", 0 if split else 1 << 62)
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


def test_band_keys_spilled_to_files_give_the_same_families(tmp_path):
    from accountgraph.templates._linking import BandKeys

    rng = np.random.default_rng(7)
    keys = rng.integers(1, 50, (500, 4)).astype(np.uint64)
    node = rng.integers(0, 300, 500)
    mem, disk = BandKeys(500, 4), BandKeys(500, 4, spill_bytes=0)
    for lo in range(0, 500, 128):
        mem.append(keys[lo:lo + 128])
        disk.append(keys[lo:lo + 128])
    assert disk.spilled and not mem.spilled  # negative control: the spill path is really taken
    np.testing.assert_array_equal(disk[2], keys[:, 2])
    np.testing.assert_array_equal(band_families(disk, node, 300), band_families(keys, node, 300))
    np.testing.assert_array_equal(band_families(mem, node, 300), band_families(keys, node, 300))
    disk.close()


def test_template_families_equal_with_spilled_keys(monkeypatch):
    import accountgraph.templates._families as fam_mod
    from accountgraph.synth import generate
    from accountgraph.templates import template_families
    from accountgraph.templates._linking import BandKeys

    prompts = generate("tiny", seed=2).events["prompt"]
    ref = template_families(prompts)
    monkeypatch.setattr(fam_mod, "BandKeys", lambda rows, bands: BandKeys(rows, bands, spill_bytes=0))
    got = template_families(prompts)
    np.testing.assert_array_equal(got.family, ref.family)
    assert got.families.equals(ref.families)
