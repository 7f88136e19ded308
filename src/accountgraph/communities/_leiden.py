"""Leiden, one connected component at a time, and the split of population-scale communities.

Each large component is partitioned on its own (weighted modularity, igraph's C core)
with a seed derived from the run's seed and the component's rank, so a component's
communities do not depend on how it is batched with others: the local engine runs the
components in a loop, and an engine that distributes them (one task per component)
gets the same partition from the same calls. Modularity is measured against each
component's own total weight, not the whole input's.

A community that still holds more than a set share of all accounts after Leiden is a
community of the user base glued by common signals (a ring is a small share of a user
base): :func:`split_oversized` re-runs Leiden inside it at a higher resolution.

A large dense component is handed to Leiden through its strongest links only
(:func:`strongest_links`, ``CommunityParams.leiden_links``): igraph converts every edge
from a Python pair (about 0.75 us each) and Leiden's passes are linear in the edges, and a
ring of 25,000 accounts holds 15-18M links, of which the strongest 32 per account (at most
0.8M) carry its communities. Everything after Leiden (rejoining dense communities,
detaching, attaching, scoring) reads every link.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from .._unique import lexsort, unique

__all__ = ["component_seed", "isolated_igraph_rng", "leiden_components", "leiden_one", "merge_dense",
           "split_oversized", "strongest_links"]

logger = logging.getLogger(__name__)

#: Fewest edges of a graph :func:`leiden_one` partitions on its strongest links: below it igraph
#: converts every edge in under a second. On tuning scenario `camouflage` (components of 82k and
#: 416k links) partitioning on the 32 strongest links per account left 65 accounts of its
#: camouflaged ring unflagged against 27 on every link (recall 0.970 against 0.988).
SPARSE_MIN_EDGES = 1_000_000


@contextlib.contextmanager
def isolated_igraph_rng(seed: int) -> Iterator[None]:
    """Run igraph with a private random generator seeded with ``seed``."""
    import igraph

    igraph.set_random_number_generator(random.Random(seed))
    try:
        yield
    finally:
        # igraph exposes no getter; its default generator is the random module.
        igraph.set_random_number_generator(random)


def component_seed(seed: int, rank: int) -> int:
    """The Leiden seed of the component of rank ``rank`` (components ordered by their first vertex)."""
    return int((seed * 1_000_003 + rank * 7919 + 17) % (2**31 - 1))


def edge_pairs(es: np.ndarray, ed: np.ndarray, chunk: int = 1 << 18) -> Iterator[tuple[int, int]]:
    """The edges as Python pairs, a slice at a time, for igraph's constructor (which iterates).

    igraph takes no array: it converts Python pairs. A list of 15M of them holds about 2 GB of
    Python objects at once; a generator over slices holds one slice. Measured on 8M edges:
    list of ``column_stack(...).tolist()`` 8.3 s, list of ``zip`` 6.8 s and 1.5 GB, this 5.7 s and
    0.4 GB (of which igraph's own edge vector).
    """
    for lo in range(0, len(es), chunk):
        yield from zip(es[lo: lo + chunk].tolist(), ed[lo: lo + chunk].tolist())


def component_labels(n: int, src: np.ndarray, dst: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components of the undirected graph on ``0..n-1``: ``(count, label per vertex)``.

    The labels ``scipy.sparse.csgraph.connected_components`` gives (components numbered in the
    order of their lowest vertex), from a compiled union-find over the edge arrays: no sparse
    matrix is built (its CSR and CSC copies of the ring's 18M links: about 1.1 s in a cProfile of
    the seed-scale day-7 monitor update).
    """
    from ._strongest_kernel import component_labels as kernel

    src, dst = np.ascontiguousarray(src, np.int64), np.ascontiguousarray(dst, np.int64)
    if len(src) and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= n):
        raise ValueError(f"component_labels: edge ends must be vertices 0..{n - 1}")
    count, labels = kernel(int(n), src, dst)
    return int(count), labels


def strongest_links(n: int, es: np.ndarray, ed: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    """Mask of the edges among the ``k`` heaviest of either end.

    Each vertex keeps its ``k`` heaviest edges (ties: the lower other end) and an edge is kept
    when either end keeps it, so every vertex keeps ``min(k, degree)`` edges or more and at most
    ``k * n`` edges are kept. Independent of the order of the edges. Compiled (numba): a
    counting sort of the edge ends and a selection per vertex, O(E) (ties at the k-th weight
    are sorted).

    Parameters
    ----------
    n : int
        Vertices (``0..n-1``).
    es, ed : ndarray of int64
        Edge ends.
    w : ndarray of float
        Edge weights.
    k : int
        Edges each vertex keeps (at least 1).
    """
    if k < 1:
        raise ValueError(f"strongest_links keeps at least one edge per vertex, got k={k}")
    from ._strongest_kernel import strongest

    es, ed = np.ascontiguousarray(es, np.int64), np.ascontiguousarray(ed, np.int64)
    if len(es) and (min(es.min(), ed.min()) < 0 or max(es.max(), ed.max()) >= n):
        raise ValueError(f"strongest_links: edge ends must be vertices 0..{n - 1}")
    # each edge listed under both ends: int32 positions when they fit (half the kernel's largest array)
    inc = np.empty(2 * len(es), np.int32 if len(es) < 1 << 31 else np.int64)
    return strongest(int(n), es, ed, np.ascontiguousarray(w, np.float64), int(k), inc)


def leiden_one(n: int, es: np.ndarray, ed: np.ndarray, w: np.ndarray, *, resolution: float, seed: int,
               n_iterations: int, top_links: int = 0) -> np.ndarray:
    """Leiden (weighted modularity) on one graph of ``n`` vertices; community label per vertex.

    With ``top_links`` > 0, a graph of more than ``top_links * n`` edges (a mean degree above
    twice that) and more than :data:`SPARSE_MIN_EDGES` is partitioned on its
    :func:`strongest_links` only.
    """
    import igraph

    if top_links > 0 and len(es) > max(top_links * n, SPARSE_MIN_EDGES):
        keep = strongest_links(n, es, ed, w, top_links)
        logger.debug("leiden_one: %d vertices, %d of %d edges kept", n, int(keep.sum()), len(es))
        es, ed, w = es[keep], ed[keep], w[keep]
    g = igraph.Graph(n=n, edges=edge_pairs(es, ed), directed=False)
    with isolated_igraph_rng(seed):
        part = g.community_leiden(objective_function="modularity", weights=w.tolist(), resolution=resolution,
                                  n_iterations=n_iterations)
    return np.asarray(part.membership, np.int64)


def leiden_components(comp: np.ndarray, es: np.ndarray, ed: np.ndarray, w: np.ndarray, *, resolution: float,
                      seed: int, n_iterations: int, top_links: int = 0) -> np.ndarray:
    """Leiden on each component separately; labels unique across components.

    Parameters
    ----------
    comp : ndarray of int64, shape (n,)
        Component rank of each vertex; vertices are in their final order (sorted by
        component, then by the data-derived vertex key).
    es, ed : ndarray of int64
        Edge endpoints (vertex positions), both ends in the same component.
    w : ndarray of float64
        Edge weights.

    Notes
    -----
    One igraph call per component: O(E) per Leiden iteration in C, plus a Python-level
    loop over the components (a few thousand at a million accounts).
    """
    from ._strongest_kernel import by_component

    n = len(comp)
    out = np.empty(n, np.int64)
    n_comp = int(comp.max()) + 1 if n else 0
    # grouped by component in edge order (a compiled counting sort, in place of a stable argsort and
    # three gathers of the edges)
    es, ed, w, e_lo = by_component(np.ascontiguousarray(comp, np.int64), np.ascontiguousarray(es, np.int64),
                                   np.ascontiguousarray(ed, np.int64), np.ascontiguousarray(w, np.float64), n_comp)
    v_lo = np.searchsorted(comp, np.arange(n_comp + 1))
    next_label = 0
    for c in range(n_comp):
        a, b = int(v_lo[c]), int(v_lo[c + 1])
        ea, eb = int(e_lo[c]), int(e_lo[c + 1])
        if eb == ea:
            out[a:b] = next_label + np.arange(b - a)
            next_label += b - a
            continue
        lab = leiden_one(b - a, es[ea:eb] - a, ed[ea:eb] - a, w[ea:eb], resolution=resolution,
                         seed=component_seed(seed, c), n_iterations=n_iterations, top_links=top_links)
        out[a:b] = next_label + lab
        next_label += int(lab.max()) + 1
    return out


def merge_dense(sub: np.ndarray, es: np.ndarray, ed: np.ndarray, w: np.ndarray,
                merge_density: float) -> tuple[np.ndarray, int]:
    """Rejoin communities whose mutual link density is at least ``merge_density``.

    The density of two communities ``i`` and ``j`` is their cut weight divided
    by ``n_i * n_j``: the mean link weight over all cross pairs. Payment cells
    of one ring, tied by a shared automation stack and proxy pool, are densely
    cross-linked and are rejoined; unrelated groups chained by a few bridge
    accounts are not. The cut weight per community pair comes from one compiled pass over the
    links into a dense ``k * k`` table when that is no larger than the links (at seed scale the
    ring's 18M links: 2.5 s as NumPy passes), else from a ``bincount`` over the ``unique`` pairs
    (the same sums, in edge order); then one connected-components pass on the community graph.
    """
    k = int(sub.max()) + 1
    size = np.bincount(sub, minlength=k).astype(np.float64)
    if k * k <= max(len(es), 1 << 20):  # one compiled pass over the links into a dense k x k table
        from ._strongest_kernel import community_cuts

        cnt, cut = community_cuts(np.ascontiguousarray(sub, np.int64), np.ascontiguousarray(es, np.int64),
                                  np.ascontiguousarray(ed, np.int64), np.ascontiguousarray(w, np.float64), k)
        key = np.flatnonzero(cnt)
        cut = cut[key]
    else:
        a, b = sub[es], sub[ed]
        cross = a != b
        code = np.minimum(a[cross], b[cross]) * k + np.maximum(a[cross], b[cross])
        key, inv = np.unique(code, return_inverse=True)
        cut = np.bincount(inv, weights=w[cross], minlength=len(key))
    ci, cj = key // k, key % k
    dense = cut / (size[ci] * size[cj]) >= merge_density
    n_merged = int(dense.sum())
    if not n_merged:
        return sub, 0
    cg = sp.coo_matrix((np.ones(n_merged), (ci[dense], cj[dense])), shape=(k, k))
    _, lab = connected_components(cg, directed=False)
    return lab[sub], n_merged


def split_oversized(membership: np.ndarray, src: np.ndarray, dst: np.ndarray, w: np.ndarray,
                    node_key: np.ndarray | None, *, max_size: int, resolution: float, seed: int,
                    n_iterations: int, rounds: int = 3, top_links: int = 0) -> tuple[np.ndarray, int]:
    """Re-run Leiden inside every community larger than ``max_size``, at growing resolution.

    Each round multiplies the resolution by 4 and partitions the oversized communities
    (each on its own, like :func:`leiden_components`); what is still oversized after
    ``rounds`` rounds is left whole (the scorer's share gate never flags it). Returns the
    new labels and the number of communities that were split.
    """
    n_split = 0
    for r in range(rounds):
        lab, inv = np.unique(membership, return_inverse=True)
        sizes = np.bincount(inv)
        big = (lab >= 0) & (sizes > max_size)
        if not big.any():
            break
        nodes = np.flatnonzero(big[inv])
        key = node_key[nodes] if node_key is not None else nodes
        # communities ranked by their first vertex in key order (labels are arbitrary)
        first = np.full(len(lab), np.iinfo(np.int64).max)
        np.minimum.at(first, inv[nodes], key)
        rank = np.argsort(np.argsort(first, kind="stable"), kind="stable")
        nodes = nodes[lexsort((nodes, key, rank[inv[nodes]]))]
        comp = np.unique(rank[inv[nodes]], return_inverse=True)[1]
        pos = np.full(len(membership), -1, np.int64)
        pos[nodes] = np.arange(len(nodes))
        e = (pos[src] >= 0) & (pos[dst] >= 0) & (membership[src] == membership[dst])
        sub = leiden_components(comp, pos[src[e]], pos[dst[e]], w[e], resolution=resolution * 4.0 ** (r + 1),
                                seed=seed + r + 1, n_iterations=n_iterations, top_links=top_links)
        n_split += int(big.sum())
        membership = membership.copy()
        membership[nodes] = int(membership.max()) + 1 + sub
        logger.info("split_oversized round %d: %d communities over %d accounts -> %d", r + 1, int(big.sum()),
                    max_size, int(unique(sub).size))
    return membership, n_split
