"""Compiled loops of :func:`accountgraph.communities._leiden.strongest_links`, ``leiden_components`` and
``merge_dense`` (numba; imported on first use)."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["by_component", "community_cuts", "component_labels", "strongest"]


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


@njit(nogil=True, cache=True)
def by_component(comp, es, ed, w, n_comp):  # type: ignore[no-untyped-def]
    """The edges grouped by the component of their first end, in edge order within each (a stable
    counting sort); returns the grouped ``es, ed, w`` and each component's first edge (``n_comp + 1``)."""
    lo = np.zeros(n_comp + 1, np.int64)
    for i in range(len(es)):
        lo[comp[es[i]] + 1] += 1
    for c in range(n_comp):
        lo[c + 1] += lo[c]
    at = lo[:-1].copy()
    out_s, out_d, out_w = np.empty_like(es), np.empty_like(ed), np.empty_like(w)
    for i in range(len(es)):
        c = comp[es[i]]
        p = at[c]
        at[c] = p + 1
        out_s[p], out_d[p], out_w[p] = es[i], ed[i], w[i]
    return out_s, out_d, out_w, lo


@njit(nogil=True, cache=True)
def component_labels(n, src, dst):  # type: ignore[no-untyped-def]
    """Connected components of ``n`` vertices, labelled in the order of their lowest vertex (as
    ``scipy.sparse.csgraph.connected_components`` labels them): union-find, each root its lowest vertex."""
    parent = np.arange(n)
    for i in range(len(src)):
        a, b = src[i], dst[i]
        while parent[a] != a:  # path halving
            parent[a] = parent[parent[a]]
            a = parent[a]
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        if a < b:
            parent[b] = a
        elif b < a:
            parent[a] = b
    labels = np.empty(n, np.int64)
    count = 0
    for v in range(n):  # a vertex's root is lower than it, so labelled already
        r = parent[v]
        while parent[r] != r:
            r = parent[r]
        if r == v:
            labels[v] = count
            count += 1
        else:
            labels[v] = labels[r]
    return count, labels
