"""Compiled loops of :func:`accountgraph.communities._leiden.strongest_links` and ``merge_dense`` (numba; imported on first use)."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["community_cuts", "strongest"]


@njit(nogil=True, cache=True)
def strongest(n, es, ed, w, k, inc):  # type: ignore[no-untyped-def]
    """Mask of the edges among the ``k`` heaviest of either end (ties: the lower other end).

    The edge ends are bucketed by vertex (a counting sort); a vertex of degree above ``k`` finds
    its ``k``-th largest weight by selection (``np.partition``), keeps the heavier edges, and
    fills up with the edges at that weight whose other end is lowest. O(E) but for the ties;
    the mask does not depend on the order of the edges (which hold distinct pairs). ``inc`` is
    scratch of ``2 * len(es)`` integers wide enough for an edge index.
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
    for e in range(m):
        inc[fill[es[e]]] = e
        fill[es[e]] += 1
        inc[fill[ed[e]]] = e
        fill[ed[e]] += 1
    most = 0
    for v in range(n):
        most = max(most, start[v + 1] - start[v])
    neg = np.empty(most, np.float64)
    tie_end = np.empty(most, np.int64)
    tie_edge = np.empty(most, np.int64)
    for v in range(n):
        lo, hi = start[v], start[v + 1]
        d = hi - lo
        if d <= k:
            for i in range(lo, hi):
                keep[inc[i]] = True
            continue
        for i in range(d):
            neg[i] = -w[inc[lo + i]]
        cut = -np.partition(neg[:d], k - 1)[k - 1]  # the k-th largest weight
        need = k
        n_tie = 0
        for i in range(lo, hi):
            e = inc[i]
            if w[e] > cut:
                keep[e] = True
                need -= 1
            elif w[e] == cut:
                tie_end[n_tie] = es[e] + ed[e] - v
                tie_edge[n_tie] = e
                n_tie += 1
        if n_tie == need:
            for j in range(n_tie):
                keep[tie_edge[j]] = True
        else:
            order = np.argsort(tie_end[:n_tie], kind="mergesort")
            for j in range(need):
                keep[tie_edge[order[j]]] = True
    return keep


@njit(nogil=True, cache=True)
def community_cuts(sub, es, ed, w, k):  # type: ignore[no-untyped-def]
    """Cross links and their summed weight per community pair ``lo * k + hi`` (``lo < hi``), dense.

    The sums run in edge order, as ``np.bincount(code, weights=...)`` adds them: the same floats.
    """
    cnt = np.zeros(k * k, np.int64)
    cut = np.zeros(k * k, np.float64)
    for e in range(len(es)):
        a, b = sub[es[e]], sub[ed[e]]
        if a == b:
            continue
        c = min(a, b) * k + max(a, b)
        cnt[c] += 1
        cut[c] += w[e]
    return cnt, cut
