"""(cluster, signal) pairs: how many accounts of each cluster hold each of its signals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ClusterPairs", "cluster_pairs"]


@dataclass(frozen=True)
class ClusterPairs:
    """The clustered incidences grouped by (cluster, signal).

    Attributes
    ----------
    rows : ndarray of int64
        Indices into the incidence arrays of the incidences whose account is in a cluster.
    pair : ndarray of int64, shape (len(rows),)
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

    One ``unique`` over the clustered incidences; shared by the member scores
    (scoring) and the per-cluster signal table (views), which need the same counts.
    """
    cl = acc_cluster[account]
    rows = np.flatnonzero(cl >= 0)
    n_sig = max(int(n_signals), 1)
    key = cl[rows] * n_sig + signal[rows]
    u, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    return ClusterPairs(rows=rows, pair=inv.reshape(-1).astype(np.int64), cluster=(u // n_sig).astype(np.int64),
                        signal=(u % n_sig).astype(np.int64), count=cnt.astype(np.int64))
