"""Compiled loop of :func:`accountgraph.communities._leiden.strongest_links` (numba; imported on first use)."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["strongest"]


@njit(nogil=True, cache=True)
def strongest(n, es, ed, w, k):  # type: ignore[no-untyped-def]
    """Mask of the edges among the ``k`` heaviest of either end (ties: the lower other end).

    The edge ends are bucketed by vertex (a counting sort), and each vertex of degree above ``k``
    orders its edges by (weight descending, other end ascending): the mask does not depend on the
    order of the edges. O(E log d).
    """
    m = len(es)
    keep = np.zeros(m, np.bool_)
    start = np.zeros(n + 1, np.int64)
    for e in range(m):
        start[es[e] + 1] += 1
        start[ed[e] + 1] += 1
    for v in range(n):
        start[v + 1] += start[v]
    fill = start[:n].copy()
    inc = np.empty(2 * m, np.int64)
    other = np.empty(2 * m, np.int64)
    for e in range(m):
        a, b = es[e], ed[e]
        inc[fill[a]], other[fill[a]] = e, b
        fill[a] += 1
        inc[fill[b]], other[fill[b]] = e, a
        fill[b] += 1
    for v in range(n):
        lo, hi = start[v], start[v + 1]
        if hi - lo <= k:
            for i in range(lo, hi):
                keep[inc[i]] = True
            continue
        by_end = np.argsort(other[lo:hi], kind="mergesort")
        row = inc[lo:hi][by_end]
        order = np.argsort(-w[row], kind="mergesort")
        for i in range(k):
            keep[row[order[i]]] = True
    return keep
