"""Community detection on the account graph (igraph's C core).

Stage 4 of the pipeline. Connected components of the link graph are computed
first (scipy, linear time). Small components are clusters as they are; larger
ones — where a residential proxy or a shared office can chain unrelated groups —
are split with the Leiden algorithm (Traag, Waltman & van Eck, 2019) optimising
weighted modularity.

Determinism
-----------
igraph draws random numbers from one process-wide generator (Python's
:mod:`random` module by default). :func:`isolated_igraph_rng` installs a private
``random.Random(seed)`` for the duration of the call and restores the previous
generator afterwards, so results depend only on ``seed`` and the caller's
global random state is untouched. Vertices are handed to igraph in an order
derived from the data (first activity, volume), not from account names, so
renaming accounts does not reshuffle Leiden's visiting order.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Iterator
from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ._graph import AccountGraph

__all__ = ["isolated_igraph_rng", "find_communities"]

logger = logging.getLogger(__name__)

_default_rng: object = random


@contextlib.contextmanager
def isolated_igraph_rng(seed: int) -> Iterator[None]:
    """Run igraph with a private random generator seeded with ``seed``."""
    import igraph

    global _default_rng
    previous = _default_rng
    igraph.set_random_number_generator(random.Random(seed))
    try:
        yield
    finally:
        igraph.set_random_number_generator(previous)


def find_communities(
    graph: AccountGraph,
    *,
    method: Literal["leiden", "components"] = "leiden",
    resolution: float = 1.0,
    split_min_size: int = 8,
    min_modularity: float = 0.3,
    seed: int = 0,
    node_key: np.ndarray | None = None,
    n_iterations: int = -1,
) -> np.ndarray:
    """Partition the linked accounts.

    Parameters
    ----------
    graph : AccountGraph
    method : {"leiden", "components"}
        ``"components"`` returns connected components only.
    resolution : float
        Leiden modularity resolution (higher gives smaller clusters).
    split_min_size : int
        Components with at most this many accounts are not split.
    min_modularity : float
        A component's Leiden split is kept only if its modularity, measured
        within the component, reaches this value; below it the component has
        no real community structure (e.g. ring cells tied by a shared proxy
        pool) and stays one cluster.
    seed : int
        Seed of Leiden's private random generator.
    node_key : ndarray, optional
        Sort key per account defining the vertex order given to igraph
        (ties broken by account code).
    n_iterations : int
        Leiden iterations; negative runs until the partition is stable.

    Returns
    -------
    membership : ndarray of int64, shape (n_accounts,)
        Arbitrary community labels; -1 for accounts with no link.

    Notes
    -----
    Components: O(V + E). Leiden: roughly O(E) per iteration in igraph's C core.
    """
    n = graph.n_accounts
    membership = np.full(n, -1, np.int64)
    if graph.n_edges == 0:
        return membership
    adj = sp.coo_matrix((np.ones(graph.n_edges), (graph.src, graph.dst)), shape=(n, n))
    _, comp = connected_components(adj, directed=False)
    active = np.zeros(n, bool)
    active[graph.src] = True
    active[graph.dst] = True
    membership[active] = comp[active]
    if method == "components":
        return membership

    sizes = np.bincount(comp[active], minlength=comp.max() + 1)
    big = active & (sizes[comp] > split_min_size)
    if not big.any():
        return membership
    import igraph

    nodes = np.flatnonzero(big)
    if node_key is not None:
        nodes = nodes[np.lexsort((nodes, node_key[nodes]))]
    pos = np.full(n, -1, np.int64)
    pos[nodes] = np.arange(len(nodes))
    e = big[graph.src]  # both ends share a component, so both are big
    es, ed = pos[graph.src[e]], pos[graph.dst[e]]
    g = igraph.Graph(n=len(nodes), edges=np.column_stack([es, ed]).tolist(), directed=False)
    with isolated_igraph_rng(seed):
        part = g.community_leiden(
            objective_function="modularity",
            weights=graph.link[e].tolist(),
            resolution=resolution,
            n_iterations=n_iterations,
        )
    sub = np.asarray(part.membership, np.int64)
    q = _component_modularity(comp[nodes], sub, es, ed, graph.link[e])
    keep_split = q[comp[nodes]] >= min_modularity
    membership[nodes] = np.where(keep_split, comp.max() + 1 + sub, comp[nodes])
    logger.info(
        "leiden: %d accounts in %d large components; %d split (modularity >= %.2f) into %d communities",
        len(nodes), int(np.unique(comp[big]).size), int(np.unique(comp[nodes][keep_split]).size),
        min_modularity, int(np.unique(sub[keep_split]).size),
    )
    return membership


def _component_modularity(
    comp: np.ndarray, sub: np.ndarray, es: np.ndarray, ed: np.ndarray, w: np.ndarray
) -> np.ndarray:
    """Weighted modularity of the partition ``sub`` restricted to each component.

    ``Q_c = sum_k [ in_k / W_c - (deg_k / 2 W_c)^2 ]`` over communities ``k`` of
    component ``c``, with ``W_c`` the component's total edge weight. Vectorised
    with ``bincount``; returns an array indexed by component label.
    """
    n_comp = int(comp.max()) + 1
    w_c = np.bincount(comp[es], weights=w, minlength=n_comp)
    same = sub[es] == sub[ed]
    in_k = np.bincount(sub[es][same], weights=w[same], minlength=int(sub.max()) + 1)
    deg = np.bincount(es, weights=w, minlength=len(sub)) + np.bincount(ed, weights=w, minlength=len(sub))
    deg_k = np.bincount(sub, weights=deg, minlength=int(sub.max()) + 1)
    k_comp = np.zeros(int(sub.max()) + 1, np.int64)
    k_comp[sub] = comp
    wc_k = np.maximum(w_c[k_comp], 1e-12)
    terms = in_k / wc_k - (deg_k / (2 * wc_k)) ** 2
    return np.bincount(k_comp, weights=terms, minlength=n_comp)
