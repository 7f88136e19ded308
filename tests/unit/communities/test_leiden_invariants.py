"""Leiden invariants of the community stage (communities/_communities.py:find_communities).

What the stage documents: ``find_communities`` returns one int64 label per account, ``-1`` for
accounts with no link and *arbitrary* (not contiguous) labels otherwise, the same labels for the
same seed; components of at most ``split_min_size`` accounts are kept whole, larger ones are split
by igraph's Leiden (modularity) and densely cross-linked communities are rejoined. The canonical,
contiguous ``cluster_id`` is assigned later by the views stage (tests/unit/views/test_result.py).
"""

from __future__ import annotations

import itertools

import igraph
import networkx as nx
import numpy as np
import pytest

from accountgraph.communities import find_communities
from accountgraph.graph import AccountGraph

# No rejoining and every component split: the raw Leiden partition (used where the test is about Leiden).
RAW = {"merge_density": 1e12, "split_min_size": 1}


def account_graph(n: int, src, dst, w) -> AccountGraph:
    """An AccountGraph with the given undirected edges, stored as the graph stage does (src < dst, sorted)."""
    src, dst = np.asarray(src, np.int64), np.asarray(dst, np.int64)
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    order = np.lexsort((hi, lo))
    w = np.asarray(w, np.float64)[order]
    return AccountGraph(n, np.zeros(0), np.zeros(0), np.zeros(0, np.int8), lo[order], hi[order], w, 10.0, len(w))


def clique_ring(sizes, inner, bridge: float, seed: int = 0):
    """Cliques of the given sizes and inner weights, each tied to the next by one edge of weight ``bridge``.

    Returns ``(graph, truth)`` where ``truth[i]`` is the clique of account ``i``.
    """
    rng = np.random.default_rng(seed)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    src, dst, w = [], [], []
    for c, (s0, k) in enumerate(zip(starts, sizes)):
        for i, j in itertools.combinations(range(k), 2):
            src.append(s0 + i)
            dst.append(s0 + j)
            w.append(inner[c])
    k = len(sizes)
    for c in range(k if k > 2 else 1):
        d = (c + 1) % k
        src.append(starts[c] + int(rng.integers(sizes[c])))
        dst.append(starts[d] + int(rng.integers(sizes[d])))
        w.append(bridge)
    truth = np.repeat(np.arange(k), sizes)
    return account_graph(int(np.sum(sizes)), src, dst, w), truth


def blocks(labels: np.ndarray) -> set[frozenset[int]]:
    """The partition as a set of blocks (labels forgotten); -1 accounts left out."""
    return {frozenset(np.flatnonzero(labels == c).tolist()) for c in np.unique(labels) if c >= 0}


def n_communities(labels: np.ndarray) -> int:
    return int(np.unique(labels[labels >= 0]).size)


def random_graph(seed: int, n: int = 40, m: int = 90) -> AccountGraph:
    rng = np.random.default_rng(seed)
    pairs = {(min(a, b), max(a, b)) for a, b in rng.integers(0, n, (m, 2)).tolist() if a != b}
    e = np.array(sorted(pairs), np.int64)
    return account_graph(n, e[:, 0], e[:, 1], rng.uniform(0.1, 1.0, len(e)))


def assert_partition(g: AccountGraph, labels: np.ndarray) -> None:
    """Every linked account in exactly one community, each community inside one connected piece."""
    assert labels.shape == (g.n_accounts,) and labels.dtype == np.int64
    linked = np.zeros(g.n_accounts, bool)
    linked[g.src] = linked[g.dst] = True
    assert ((labels >= 0) == linked).all(), "an account with a link has no community (or the reverse)"
    ref = nx.Graph()
    ref.add_nodes_from(range(g.n_accounts))
    ref.add_edges_from(zip(g.src.tolist(), g.dst.tolist()))
    for block in blocks(labels):
        assert nx.is_connected(ref.subgraph(block)), f"community {sorted(block)} is not connected"


# ---------------------------------------------------------------- (a) a partition, deterministic


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("params", [{}, RAW], ids=["defaults", "raw"])
def test_output_is_a_partition_of_the_linked_accounts(seed, params):
    g = random_graph(seed)
    labels = find_communities(g, seed=seed, **params)
    assert_partition(g, labels)
    np.testing.assert_array_equal(labels, find_communities(g, seed=seed, **params))


def test_partition_check_catches_a_broken_partition():
    # Negative control for assert_partition: a linked account without a label, and a community
    # made of two pieces that share no edge, must both be caught.
    g = account_graph(6, [0, 1, 3, 4], [1, 2, 4, 5], [1.0] * 4)
    assert_partition(g, np.array([0, 0, 0, 1, 1, 1]))
    with pytest.raises(AssertionError, match="has no community"):
        assert_partition(g, np.array([-1, 0, 0, 1, 1, 1]))
    with pytest.raises(AssertionError, match="not connected"):
        assert_partition(g, np.zeros(6, np.int64))


def test_unlinked_accounts_are_minus_one_and_small_components_stay_whole():
    g = account_graph(10, [0, 1, 4], [1, 2, 5], [1.0, 1.0, 1.0])
    labels = find_communities(g)
    assert labels[[3, 6, 7, 8, 9]].tolist() == [-1] * 5
    assert blocks(labels) == {frozenset({0, 1, 2}), frozenset({4, 5})}


def test_leiden_beats_singletons_and_one_block_per_component():
    g, _ = clique_ring([7, 9, 6, 8], [1.0, 0.8, 0.9, 0.7], 0.05)
    ig = igraph.Graph(n=g.n_accounts, edges=np.column_stack([g.src, g.dst]).tolist())
    w = g.link.tolist()
    labels = find_communities(g, **RAW)
    q = ig.modularity(labels.tolist(), weights=w)
    assert q > ig.modularity(list(range(g.n_accounts)), weights=w)
    assert q > ig.modularity([0] * g.n_accounts, weights=w)


# ---------------------------------------------------------------- (b) planted cliques, resolution


@pytest.mark.parametrize("sizes", [[5, 5], [10, 6, 8], [9, 12, 5, 7, 10, 6]])
def test_cliques_joined_by_weak_edges_are_the_communities(sizes):
    inner = np.linspace(0.5, 1.0, len(sizes))
    g, truth = clique_ring(sizes, inner, 0.03)
    assert blocks(find_communities(g)) == blocks(truth)


def test_clique_check_can_fail():
    # Negative control: bridges far stronger than the cliques pull their endpoints together, so
    # the cliques are no longer the answer and the equality above is a real check.
    g, truth = clique_ring([6, 6, 6], [1.0] * 3, 50.0)
    assert blocks(find_communities(g)) != blocks(truth)


GRID = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]


@pytest.mark.parametrize("params", [{}, RAW], ids=["defaults", "raw"])
def test_raising_the_resolution_never_gives_fewer_communities(params):
    g, _ = clique_ring([8, 10, 6, 12, 7], [0.6, 1.0, 0.8, 0.7, 0.9], 0.04)
    counts = [n_communities(find_communities(g, resolution=r, **params)) for r in GRID]
    assert counts == sorted(counts)
    assert counts[0] < 5 <= counts[-1]  # the grid spans coarser and finer partitions than the cliques
    if params:
        assert counts[-1] > 5  # raw Leiden splits the cliques themselves at high resolution
    else:
        assert counts[-1] == 5  # dense rejoining keeps the pieces of a clique together


# ---------------------------------------------------------------- (d) relabelling nodes


@pytest.mark.parametrize("seed", range(4))
def test_relabelling_planted_cliques_gives_the_same_partition(seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(5, 11, 4)
    g, _ = clique_ring(sizes, rng.uniform(0.5, 1.0, 4), 0.03, seed=seed)
    perm = rng.permutation(g.n_accounts)  # account i becomes perm[i]
    h = account_graph(g.n_accounts, perm[g.src], perm[g.dst], g.link)
    assert blocks(find_communities(h)[perm]) == blocks(find_communities(g))


def relabelled_with_key(g: AccountGraph, seed: int):
    rng = np.random.default_rng(seed)
    key = rng.permutation(g.n_accounts)
    perm = rng.permutation(g.n_accounts)
    h = account_graph(g.n_accounts, perm[g.src], perm[g.dst], g.link)
    key_h = np.empty_like(key)
    key_h[perm] = key  # the key travels with the account
    return key, h, key_h, perm


@pytest.mark.parametrize("seed", range(8))
def test_relabelling_any_graph_with_its_node_key_gives_the_same_partition(seed):
    # The engine hands Leiden a vertex order from the data (node_key), not from account codes,
    # so renaming accounts cannot change the partition even where Leiden's answer is fragile.
    g = random_graph(100 + seed)
    key, h, key_h, perm = relabelled_with_key(g, seed)
    for params in ({}, RAW):
        a = find_communities(g, node_key=key, seed=seed, **params)
        b = find_communities(h, node_key=key_h, seed=seed, **params)
        assert blocks(b[perm]) == blocks(a)


def test_without_the_node_key_relabelling_does_change_fragile_partitions():
    # Negative control for the test above: on the same random graphs, dropping node_key makes the
    # vertex order follow account codes, and some relabellings then change the partition.
    changed = 0
    for seed in range(8):
        g = random_graph(100 + seed)
        _, h, _, perm = relabelled_with_key(g, seed)
        a = find_communities(g, seed=seed, **RAW)
        b = find_communities(h, seed=seed, **RAW)
        changed += blocks(b[perm]) != blocks(a)
    assert changed > 0
