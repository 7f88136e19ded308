"""(cluster, signal) pairs: how many accounts of each cluster hold each of its signals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._unique import lexsort

__all__ = ["ClusterPairs", "cluster_pairs"]


@dataclass(frozen=True)
class ClusterPairs:
    """The clustered incidences grouped by (cluster, signal).

    Attributes
    ----------
    rows : ndarray of int32 (int64 from 2**31 incidences or signals on)
        Indices into the incidence arrays of the incidences whose account is in a cluster.
    pair : ndarray of int32 (as ``rows``), shape (len(rows),)
        Pair index of each of those incidences.
    cluster, signal, count : ndarray of int64, shape (n_pairs,)
        Each pair's cluster, signal and number of accounts of the cluster holding the signal,
        sorted by (cluster, signal).
    """

    rows: np.ndarray
    pair: np.ndarray
    cluster: np.ndarray
    signal: np.ndarray
    count: np.ndarray


def cluster_pairs(account: np.ndarray, signal: np.ndarray, acc_cluster: np.ndarray, n_signals: int) -> ClusterPairs:
    """Group the distinct (account, signal) incidences of clustered accounts by (cluster, signal).

    Shared by the member scores (scoring) and the per-cluster signal table (views),
    which need the same counts. Incidences sorted by signal (as :class:`SignalTable`
    holds them) are put in (cluster, signal) order by a stable counting sort on the
    cluster in compiled passes, O(n), with no incidence-sized key (at seed scale the
    numpy formulation held 2.9 GiB at its peak); other inputs by
    :func:`accountgraph._unique.lexsort` (the order and counts of ``np.unique`` of the
    combined key).

    Examples
    --------
    >>> p = cluster_pairs(np.array([0, 1, 2, 0]), np.array([0, 0, 0, 1]), np.array([1, 1, -1]), 2)
    >>> p.rows.tolist(), p.pair.tolist(), p.cluster.tolist(), p.signal.tolist(), p.count.tolist()
    ([0, 1, 3], [0, 0, 1], [1, 1], [0, 1], [2, 1])
    """
    n_sig = max(int(n_signals), 1)
    k = int(acc_cluster.max()) + 1 if len(acc_cluster) else 0
    if k > 0 and len(account) >= 2:
        from ._pairs_kernel import clustered_counts, runs_by_cluster  # numba: imported when first needed

        per, ordered = clustered_counts(account, signal, acc_cluster, k)
        if ordered:  # as the SignalTable holds them: a counting sort by cluster, no key arrays
            n = int(per.sum())
            small = len(account) < 2**31 and n_sig < 2**31  # int32 rows, pairs and scratch: half the bytes
            idx = np.int32 if small else np.int64
            rows, pair = np.empty(n, idx), np.empty(n, idx)
            cluster, sig, cnt = runs_by_cluster(account, signal, acc_cluster, per, rows, pair,
                                                np.empty(n, idx), np.empty(n, idx))
            return ClusterPairs(rows=rows, pair=pair, cluster=cluster, signal=sig, count=cnt)
    rows = np.flatnonzero((acc_cluster >= 0)[account])  # no int64 cluster per incidence
    c, sg = acc_cluster[account[rows]].astype(np.int64, copy=False), signal[rows].astype(np.int64, copy=False)
    if len(sg) < 2:
        u, inv, cnt = np.unique(c * n_sig + sg, return_inverse=True, return_counts=True)
        idx = np.int32 if len(account) < 2**31 and n_sig < 2**31 else np.int64
        return ClusterPairs(rows=rows.astype(idx), pair=inv.reshape(-1).astype(idx), cluster=(u // n_sig).astype(np.int64),
                            signal=(u % n_sig).astype(np.int64), count=cnt.astype(np.int64))
    o = lexsort((sg, c))  # np.unique's order from a packed sort (the monitor's incidences are by account)
    from ._pairs_kernel import runs

    pair, cluster, sig, cnt = runs(c, sg, o)  # the runs in that order: np.unique's pairs and counts
    idx = np.int32 if len(account) < 2**31 and n_sig < 2**31 else np.int64
    return ClusterPairs(rows=rows.astype(idx), pair=pair.astype(idx), cluster=cluster, signal=sig, count=cnt)
