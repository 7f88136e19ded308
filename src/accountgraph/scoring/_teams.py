"""Infrastructure blocks: is a cluster one operator, or strangers glued by a template?

A ring shares its infrastructure across its accounts: its proxy exits, cards and devices
overlap from account to account. Inside a cluster, the accounts that share an
infrastructure signal (an exact address, card, device or other attribute with a rarity
weight above zero; not a template family nor a network prefix) form *blocks*. Two readings:

* ``infra_block_share``, the largest block's share of the cluster's accounts, feeds the
  infrastructure gate of :func:`apply_model`. On the tuning worlds no ring cluster of three
  or more accounts is under 0.5, while half the benign clusters the model flagged were:
  users of a niche template who share no infrastructure at all.
* Separate automation teams (an owner's few API keys on one host) that run the same agent
  framework send near-identical prompt templates, so the template family links them into
  one cluster. A cluster whose every block is a team (at most ``team_n`` accounts that send
  at least 90 % of their traffic from their three busiest addresses, at ``team_host_rate``
  requests per account-day or more) is a set of teams, and
  the team gate of :func:`apply_model` treats it as one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..signals import ClusterPairs
from .._unique import lexsort

__all__ = ["TEAM_BLOCK_COLUMNS", "add_team_blocks", "block_share", "infrastructure_masks", "team_blocks",
           "with_infrastructure"]

#: Feature columns :func:`add_team_blocks` adds (``team_block_ip_top_share``: NaN for clusters
#: the team gate cannot apply to).
TEAM_BLOCK_COLUMNS = ("team_block_max", "team_block_ip_top_share", "infra_block_share")


def team_blocks(account: np.ndarray, signal: np.ndarray, n_events: np.ndarray, acc_cluster: np.ndarray,
                pairs: ClusterPairs, infra: np.ndarray, ip: np.ndarray, n_clusters: int,
                ip_clusters: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Largest infrastructure block per cluster, and the lowest top-3 address share of its blocks.

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
    n_clusters : int
    ip_clusters : ndarray of int64, optional
        The clusters whose blocks' address shares are wanted (default: every cluster);
        the others get NaN. Only the clusters the team gate could apply to need them.

    Returns
    -------
    dict
        ``team_block_max``: accounts in the cluster's largest block (NaN for a cluster
        without accounts); ``team_block_ip_top_share``: over the cluster's blocks, the
        lowest share of a block's events (on incidences with an IP) sent from its three
        busiest IPs (NaN if a block has no IP at all). Float64 arrays of shape
        (n_clusters,).

    Examples
    --------
    Two teams of two (each on its own host, one shared card) glued by nothing else:

    >>> from accountgraph.signals import cluster_pairs
    >>> acc = np.array([0, 1, 2, 3, 0, 1, 2, 3]); sig = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    >>> cl = np.zeros(4, np.int64); pairs = cluster_pairs(acc, sig, cl, 4)
    >>> out = team_blocks(acc, sig, np.full(8, 10), cl, pairs, np.ones(4, bool),
    ...                   np.array([False, False, True, True]), 1)
    >>> out["team_block_max"].tolist(), out["team_block_ip_top_share"].tolist()
    ([2.0], [1.0])
    """
    big = np.full(n_clusters, np.nan)
    top = np.full(n_clusters, np.nan)
    members = np.flatnonzero(acc_cluster >= 0)
    if not len(members) or not n_clusters:
        return {"team_block_max": big, "team_block_ip_top_share": top}
    n_acc = len(acc_cluster)
    rows, p = pairs.rows, pairs.pair
    # account nodes, then one node per (cluster, shared infrastructure signal) pair; masks
    # per pair first, then gathered per incidence (bool: no row-sized integer temporaries)
    link = (infra[pairs.signal] & (pairs.count >= 2))[p]
    a_local = np.full(n_acc, -1, np.int64)
    a_local[members] = np.arange(len(members))
    # compact ids of the linking pairs, in pair order (a dense remap: no sort)
    used = np.zeros(len(pairs.count), bool)
    used[p[link]] = True
    remap = np.cumsum(used) - 1
    pair_node = remap[p[link]]
    n_nodes = len(members) + int(used.sum())
    g = coo_matrix((np.ones(int(link.sum()), np.int8), (a_local[account[rows[link]]], len(members) + pair_node)),
                   shape=(n_nodes, n_nodes))
    _, comp = connected_components(g, directed=False)
    del g, link, used, remap, pair_node
    block = comp[: len(members)]
    size = np.bincount(block, minlength=n_nodes).astype(np.float64)
    block_cl = np.full(n_nodes, -1, np.int64)
    block_cl[block] = acc_cluster[members]
    blocks = np.flatnonzero(block_cl >= 0)
    big_w = np.full(n_clusters, -np.inf)
    np.maximum.at(big_w, block_cl[blocks], size[blocks])
    big = np.where(np.isneginf(big_w), np.nan, big_w)
    want = np.isin(np.arange(n_clusters), ip_clusters) if ip_clusters is not None else np.ones(n_clusters, bool)
    on_ip = (ip[pairs.signal] & want[pairs.cluster])[p]
    share = _address_shares(on_ip, rows, signal, account, a_local, block, n_events, n_nodes)
    wb = blocks[want[block_cl[blocks]]]
    return {"team_block_max": big, "team_block_ip_top_share": _lowest(share[wb], block_cl[wb], n_clusters)}


def _address_shares(on_ip: np.ndarray, rows: np.ndarray, signal: np.ndarray, account: np.ndarray,
                    a_local: np.ndarray, block: np.ndarray, n_events: np.ndarray, n_nodes: int) -> np.ndarray:
    """Per block, the top-3 address share over the incidences ``rows[on_ip]`` (see :func:`team_blocks`)."""
    if np.asarray(n_events).dtype.kind in "iu":  # counts: one compiled pass (the same sums)
        from ._kernels import block_top3_share

        share = block_top3_share(on_ip, rows, signal, account, a_local, block, n_events, n_nodes)
        if share is not None:
            return share
    # float weights, or incidences not in signal order (the monitor's are by account)
    return _block_ip_top_share(block[a_local[account[rows[on_ip]]]], signal[rows[on_ip]],
                               n_events[rows[on_ip]].astype(np.float64), n_nodes)


def _lowest(share: np.ndarray, cluster: np.ndarray, n_clusters: int) -> np.ndarray:
    """Per cluster, the lowest of its blocks' shares; NaN if a block has no IP at all (no evidence of one host)."""
    low = np.full(n_clusters, np.inf)
    np.minimum.at(low, cluster, np.where(np.isnan(share), -np.inf, share))
    return np.where(np.isinf(low), np.nan, low)


def _block_ip_top_share(key_b: np.ndarray, key_s: np.ndarray, w: np.ndarray, n_nodes: int) -> np.ndarray:
    """Per block: the share of its IP events sent from its three busiest IPs (NaN: no IP)."""
    share = np.full(n_nodes, np.nan)
    if not len(key_b):
        return share
    order = lexsort((key_s, key_b))
    kb, ks, w = key_b[order], key_s[order], w[order]
    start = np.flatnonzero(np.r_[True, (kb[1:] != kb[:-1]) | (ks[1:] != ks[:-1])])
    tot = np.add.reduceat(w, start)
    gb = kb[start]
    o2 = lexsort((-tot, gb))
    gb, tot = gb[o2], tot[o2]
    first = np.r_[True, gb[1:] != gb[:-1]]
    rank = np.arange(len(gb)) - np.maximum.accumulate(np.where(first, np.arange(len(gb)), 0))
    all_w = np.bincount(gb, weights=tot, minlength=n_nodes)
    top3 = np.bincount(gb[rank < 3], weights=tot[rank < 3], minlength=n_nodes)
    seen = np.zeros(n_nodes, bool)
    seen[gb] = True
    share[seen] = top3[seen] / np.maximum(all_w[seen], 1e-12)
    return share


def infrastructure_masks(type_names: list[str] | tuple[str, ...], signal_type: np.ndarray,
                         weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(infra, ip, present)`` signal masks for :func:`add_team_blocks`.

    ``infra`` (what joins accounts into blocks): every signal with a rarity weight above
    zero except template families and network prefixes (``ip_net``): separate tenants of
    one cloud share a prefix, and the exact exits, cards and devices a ring rotates through
    already join its accounts. ``ip``: IP addresses. ``present``: the signals, shared or
    not, whose presence shows that the input records infrastructure at all (not templates,
    prefixes, e-mail domains or phone prefixes); a cluster whose accounts hold none gets
    no ``infra_block_share``.
    """
    names = list(type_names)
    st = np.asarray(signal_type)
    idx = [names.index(t) for t in ("template", "ip_net") if t in names]
    attr = [names.index(t) for t in ("email_domain", "phone_prefix") if t in names]
    ip_t = names.index("ip") if "ip" in names else -1
    linkable = ~np.isin(st, idx)
    return linkable & (np.asarray(weight) > 0), st == ip_t, linkable & ~np.isin(st, attr)


def add_team_blocks(feats: pd.DataFrame, account: np.ndarray, signal: np.ndarray, n_events: np.ndarray,
                    acc_cluster: np.ndarray, pairs: ClusterPairs, infra: np.ndarray, ip: np.ndarray,
                    candidates: tuple[int, float], present: np.ndarray) -> pd.DataFrame:
    """``feats`` with the :data:`TEAM_BLOCK_COLUMNS` (:func:`team_blocks`).

    ``infra_block_share`` (the largest block's share of the cluster's accounts; NaN for
    a cluster none of whose accounts holds a ``present`` signal, see
    :func:`infrastructure_masks`) feeds the infrastructure gate of
    :func:`apply_model`: a ring shares its infrastructure across its accounts, while
    strangers glued by a niche template share none. The address shares are
    computed for the clusters the team gate could apply to only: more than
    ``candidates[0]`` accounts averaging at least ``candidates[1]`` events per
    account-day (:attr:`ScoringParams.team_block_candidates`; smaller clusters are
    judged whole).
    """
    team_n, team_rate = candidates
    rate = np.nan_to_num(feats["events_per_account_day"].to_numpy(np.float64))
    n_acc = feats["n_accounts"].to_numpy()
    cand = np.flatnonzero((rate >= team_rate) & (n_acc > team_n))
    out = feats.copy()
    cols = team_blocks(account, signal, n_events, acc_cluster, pairs, infra, ip, len(feats), cand)
    out["team_block_max"] = cols["team_block_max"]
    out["team_block_ip_top_share"] = cols["team_block_ip_top_share"]
    share = block_share(cols["team_block_max"], n_acc)
    out["infra_block_share"] = np.where(with_infrastructure(signal, pairs, present, len(feats)),
                                        share, np.nan)
    return out


def with_infrastructure(signal: np.ndarray, pairs: ClusterPairs, present: np.ndarray, n_clusters: int) -> np.ndarray:
    """Per cluster: does any of its accounts hold an infrastructure signal (shared or not)?"""
    hold = present[signal[pairs.rows]]
    return np.bincount(pairs.cluster[pairs.pair[hold]], minlength=n_clusters)[:n_clusters] > 0


def block_share(block_max: np.ndarray, n_accounts: np.ndarray) -> np.ndarray:
    """The largest infrastructure block's share of a cluster's accounts (NaN for an empty cluster)."""
    n = np.asarray(n_accounts, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.asarray(block_max, np.float64) / np.where(n > 0, n, 1.0), np.nan)
