"""Stage 3, signals: the bipartite account–signal incidence.

Interface: :func:`extract_signals` turns validated events and accounts (and the
template family of each event) into a :class:`SignalTable` of distinct
(account, signal) incidences with each signal's type and value;
:func:`cluster_pairs` groups the incidences of clustered accounts by (cluster, signal);
:func:`account_order` and :func:`pair_counts` count distinct (account, value) pairs of
event-sized columns in linear time.
"""

from ._extract import SignalTable, extract_signals, unique_counts
from ._group import AccountOrder, account_order, pair_counts
from ._pairs import ClusterPairs, cluster_pairs

__all__ = ["AccountOrder", "ClusterPairs", "SignalTable", "account_order", "cluster_pairs", "extract_signals",
           "pair_counts", "unique_counts"]
