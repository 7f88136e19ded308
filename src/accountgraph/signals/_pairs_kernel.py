"""The (cluster, signal) runs of incidences in sorted order, in one compiled pass (numba).

:func:`accountgraph.signals.cluster_pairs` sorts the clustered incidences by (cluster, signal);
this pass then numbers the runs and counts them. In NumPy that was a combined key, a change
mask, its positions, their differences and a scatter of a cumulative sum: six arrays the size
of the incidences (a 25,000-account ring past a 30-day horizon holds tens of millions).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["runs"]


@njit(nogil=True, cache=True)
def runs(c, sg, order):  # type: ignore[no-untyped-def]
    """Pair index of each incidence (its run in ``order``) and each run's cluster, signal and length.

    ``order`` sorts the incidences by ``(c, sg)``; returns ``(pair, cluster, signal, count)``.
    """
    n = len(order)
    pair = np.empty(n, np.int64)
    u_c = np.empty(n, np.int64)
    u_s = np.empty(n, np.int64)
    cnt = np.empty(n, np.int64)
    p = -1
    for i in range(n):
        j = order[i]
        if p < 0 or c[j] != u_c[p] or sg[j] != u_s[p]:
            p += 1
            u_c[p] = c[j]
            u_s[p] = sg[j]
            cnt[p] = 0
        cnt[p] += 1
        pair[j] = p
    return pair, u_c[:p + 1].copy(), u_s[:p + 1].copy(), cnt[:p + 1].copy()


@njit(nogil=True, cache=True)
def clustered_counts(account, signal, acc_cluster, k):  # type: ignore[no-untyped-def]
    """Clustered incidences per cluster (``account``'s cluster >= 0), and whether their signals ascend."""
    per = np.zeros(k, np.int64)
    last = np.int64(-1)
    ordered = True
    for r in range(len(account)):
        c = acc_cluster[account[r]]
        if c >= 0:
            per[c] += 1
            if signal[r] < last:
                ordered = False
            last = signal[r]
    return per, ordered


@njit(nogil=True, cache=True)
def runs_by_cluster(account, signal, acc_cluster, per, rows, pair, sig_sorted, at):  # type: ignore[no-untyped-def]
    """:func:`runs` of the clustered incidences in signal order, with no incidence-sized key array.

    ``per``: :func:`clustered_counts`. Fills ``rows`` (the clustered incidences, ascending) and
    ``pair`` (each one's pair); ``sig_sorted`` and ``at`` are scratch of the same length: a
    stable counting sort by cluster writes each incidence's signal and position in cluster
    order (signal order within a cluster, so a cluster's pairs are the runs of equal
    signals), read back in one sequential pass. Returns ``(cluster, signal, count)`` per pair.
    """
    k = len(per)
    start = np.zeros(k + 1, np.int64)
    for c in range(k):
        start[c + 1] = start[c] + per[c]
    pos = start[:k].copy()
    i = 0
    for r in range(len(account)):
        c = acc_cluster[account[r]]
        if c >= 0:
            rows[i] = r
            sig_sorted[pos[c]] = signal[r]
            at[pos[c]] = i
            pos[c] += 1
            i += 1
    n_pairs = 0  # counted first: the pair arrays are allocated at their size
    for c in range(k):
        for t in range(start[c], start[c + 1]):
            if t == start[c] or sig_sorted[t] != sig_sorted[t - 1]:
                n_pairs += 1
    u_c = np.empty(n_pairs, np.int64)
    u_s = np.empty(n_pairs, np.int64)
    cnt = np.zeros(n_pairs, np.int64)
    p = -1
    for c in range(k):
        for t in range(start[c], start[c + 1]):
            if t == start[c] or sig_sorted[t] != sig_sorted[t - 1]:
                p += 1
                u_c[p] = c
                u_s[p] = sig_sorted[t]
            cnt[p] += 1
            pair[at[t]] = p
    return u_c, u_s, cnt
