"""Infrastructure blocks: is a cluster one operator, or several small owners glued by a template?

Separate automation teams (an owner's few API keys on one host) that run the same agent
framework send near-identical prompt templates, so the template family links them into
one cluster; nothing else does. A ring shares its infrastructure across its accounts: its
proxy exits, cards and devices overlap from account to account. Inside a cluster, the
accounts that share an infrastructure signal (an exact address, card, device or other
attribute with a rarity weight above zero; not a template family nor a network prefix) form
*blocks*. A cluster whose every block is a team (at most
``team_n`` accounts that send at least 90 % of their traffic from their three busiest
addresses) is a set of teams, and the team gate of :func:`apply_model` treats it as one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..signals import ClusterPairs

__all__ = ["TEAM_BLOCK_COLUMNS", "add_team_blocks", "infrastructure_masks", "team_blocks"]

#: Feature columns :func:`team_blocks` adds (NaN for clusters it was not asked about).
TEAM_BLOCK_COLUMNS = ("team_block_max", "team_block_ip_top_share")


def team_blocks(account: np.ndarray, signal: np.ndarray, n_events: np.ndarray, acc_cluster: np.ndarray,
                pairs: ClusterPairs, infra: np.ndarray, ip: np.ndarray, clusters: np.ndarray,
                n_clusters: int) -> dict[str, np.ndarray]:
    """Largest infrastructure block and its lowest top-3 address share, per cluster.

    Parameters
    ----------
    account, signal : ndarray of int64, shape (m,)
        Distinct (account, signal) incidences.
    n_events : ndarray of int64, shape (m,)
        Events behind each incidence.
    acc_cluster : ndarray of int64, shape (n_accounts,)
        Cluster index per account, -1 for none.
    pairs : ClusterPairs
        :func:`~accountgraph.signals.cluster_pairs` of these incidences and clusters.
    infra : ndarray of bool, shape (n_signals,)
        Signals that link accounts as shared infrastructure (:func:`infrastructure_masks`).
    ip : ndarray of bool, shape (n_signals,)
        Signals that are IP addresses.
    clusters : ndarray of int64
        The clusters to examine (the others get NaN): examining only those the team
        gate could apply to keeps this off the hot path.
    n_clusters : int

    Returns
    -------
    dict
        ``team_block_max``: accounts in the cluster's largest block;
        ``team_block_ip_top_share``: over the cluster's blocks, the lowest share of a
        block's events (on incidences with an IP) sent from its three busiest IPs
        (NaN if a block has no IP at all). Both float64 arrays of shape (n_clusters,).

    Examples
    --------
    Two teams of two (each on its own host, one shared card) glued by nothing else:

    >>> from accountgraph.signals import cluster_pairs
    >>> acc = np.array([0, 1, 2, 3, 0, 1, 2, 3]); sig = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    >>> cl = np.zeros(4, np.int64); pairs = cluster_pairs(acc, sig, cl, 4)
    >>> out = team_blocks(acc, sig, np.full(8, 10), cl, pairs, np.ones(4, bool),
    ...                   np.array([False, False, True, True]), np.array([0]), 1)
    >>> out["team_block_max"].tolist(), out["team_block_ip_top_share"].tolist()
    ([2.0], [1.0])
    """
    big = np.full(n_clusters, np.nan)
    top = np.full(n_clusters, np.nan)
    want = np.zeros(n_clusters, bool)
    want[np.asarray(clusters, np.int64)] = True
    rows, p = pairs.rows, pairs.pair
    sel = want[pairs.cluster[p]]
    rows, p = rows[sel], p[sel]
    members = np.flatnonzero((acc_cluster >= 0) & want[np.maximum(acc_cluster, 0)])
    if not len(members):
        return {"team_block_max": big, "team_block_ip_top_share": top}
    n_acc = len(acc_cluster)
    # account nodes, then one node per (cluster, shared infrastructure signal) pair
    link = infra[signal[rows]] & (pairs.count[p] >= 2)
    a_local = np.full(n_acc, -1, np.int64)
    a_local[members] = np.arange(len(members))
    pair_ids, pair_node = np.unique(p[link], return_inverse=True)
    n_nodes = len(members) + len(pair_ids)
    g = coo_matrix((np.ones(int(link.sum()), np.int8), (a_local[account[rows[link]]], len(members) + pair_node)),
                   shape=(n_nodes, n_nodes))
    _, comp = connected_components(g, directed=False)
    block = comp[: len(members)]
    size = np.bincount(block, minlength=n_nodes).astype(np.float64)
    block_cl = np.full(n_nodes, -1, np.int64)
    block_cl[block] = acc_cluster[members]
    has = block_cl >= 0
    big_w = np.full(n_clusters, -np.inf)
    np.maximum.at(big_w, block_cl[has], size[has])
    big[want] = big_w[want]
    # per block: events per IP, then the three largest over the total
    on_ip = ip[signal[rows]]
    b = block[a_local[account[rows[on_ip]]]]
    key_b, key_s = b, signal[rows[on_ip]]
    w = n_events[rows[on_ip]].astype(np.float64)
    share = np.full(n_nodes, np.nan)
    if len(key_b):
        order = np.lexsort((key_s, key_b))
        kb, ks, w = key_b[order], key_s[order], w[order]
        new = np.r_[True, (kb[1:] != kb[:-1]) | (ks[1:] != ks[:-1])]
        start = np.flatnonzero(new)
        tot = np.add.reduceat(w, start)
        gb = kb[start]
        o2 = np.lexsort((-tot, gb))
        gb, tot = gb[o2], tot[o2]
        first = np.r_[True, gb[1:] != gb[:-1]]
        rank = np.arange(len(gb)) - np.maximum.accumulate(np.where(first, np.arange(len(gb)), 0))
        all_w = np.bincount(gb, weights=tot, minlength=n_nodes)
        top3 = np.bincount(gb[rank < 3], weights=tot[rank < 3], minlength=n_nodes)
        seen = np.zeros(n_nodes, bool)
        seen[gb] = True
        share[seen] = top3[seen] / np.maximum(all_w[seen], 1e-12)
    # a block with no IP at all makes the cluster's lowest share NaN (no evidence of one host)
    low = np.full(n_clusters, np.inf)
    blocks = np.flatnonzero(has)
    np.minimum.at(low, block_cl[blocks], np.where(np.isnan(share[blocks]), -np.inf, share[blocks]))
    low = np.where(np.isneginf(low), np.nan, low)
    top[want] = low[want]
    return {"team_block_max": big, "team_block_ip_top_share": top}


def infrastructure_masks(type_names: list[str] | tuple[str, ...], signal_type: np.ndarray,
                         weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(infra, ip)`` signal masks for :func:`team_blocks` from the signal types and rarity weights.

    Infrastructure is every signal with a rarity weight above zero except template families
    and network prefixes (``ip_net``): separate tenants of one cloud share a prefix, and the
    exact exits, cards and devices a ring rotates through already join its accounts.
    """
    names = list(type_names)
    st = np.asarray(signal_type)
    skip = [names.index(t) for t in ("template", "ip_net") if t in names]
    ip_t = names.index("ip") if "ip" in names else -1
    return ~np.isin(st, skip) & (np.asarray(weight) > 0), st == ip_t


def add_team_blocks(feats: pd.DataFrame, account: np.ndarray, signal: np.ndarray, n_events: np.ndarray,
                    acc_cluster: np.ndarray, pairs: ClusterPairs, infra: np.ndarray, ip: np.ndarray,
                    team_gate: tuple[int, float]) -> pd.DataFrame:
    """``feats`` with the :data:`TEAM_BLOCK_COLUMNS` of the clusters the team gate could apply to.

    Those are the clusters of more than ``team_gate[0]`` accounts averaging at least
    ``team_gate[1]`` events per account-day (smaller ones are teams already); the others
    get NaN.
    """
    team_n, team_rate = team_gate
    rate = np.nan_to_num(feats["events_per_account_day"].to_numpy(np.float64))
    cand = np.flatnonzero((rate >= team_rate) & (feats["n_accounts"].to_numpy() > team_n))
    out = feats.copy()
    cols = team_blocks(account, signal, n_events, acc_cluster, pairs, infra, ip, cand, len(feats))
    for c in TEAM_BLOCK_COLUMNS:
        out[c] = cols[c]
    return out
