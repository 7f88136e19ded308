"""Coordinated hubs: signals too common to be telling alone, held by the same accounts across types.

A hub (a signal shared by more accounts than the hub cap) is normally never projected:
a carrier-grade NAT exit, a popular fingerprint or a public template says little about
who its holders are. But a large ring hides exactly there. A few hundred datacenter
exits, each used by a thousand of the ring's accounts, and the ring's 20-fingerprint
automation stack are all hubs; yet the accounts behind one of those exits are, nearly
all of them, the accounts behind one of the fingerprints. Strangers behind a NAT exit
are not the strangers of one particular fingerprint.

A hub ``h`` is **coordinated** when, for some other evidence group (another kind of fact:
not an IP and its /24), at least ``min_share`` of ``h``'s accounts (estimated on a
deterministic sample of them) hold a hub ``h'`` of that group that is **associated** with
``h``: the share of ``h``'s accounts holding ``h'`` is at least ``min_lift`` times the share
of all accounts holding ``h'`` (so a webmail domain or a country's phone prefix, held by
everybody, never counts). A ring's stack of 3 fingerprints split among its accounts counts
as one companion.

Coordinated hubs are projected like signals past the pair budget, onto sparse circulants,
but with one **common member order** for all of them, so that the accounts that share
many coordinated hubs are sampled as neighbours in each and accumulate evidence across
hubs and types, while a stranger who shares one of them gets one clipped link at most.
An enterprise's office IP and its corporate domain are coordinated too: enterprises are
clustered (they always were, through their cards) and the ring model scores them.
"""

from __future__ import annotations

import logging

import numpy as np

__all__ = ["coordinated_hubs"]

logger = logging.getLogger(__name__)


def _mix(x: np.ndarray) -> np.ndarray:
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def coordinated_hubs(account: np.ndarray, signal: np.ndarray, group: np.ndarray, hub: np.ndarray,
                     degree: np.ndarray, n_accounts: int, node_key: np.ndarray, *, sample: int = 64,
                     min_share: float = 0.5, min_lift: float = 20.0) -> np.ndarray:
    """Which hub signals are coordinated (see the module docstring).

    Parameters
    ----------
    account, signal : ndarray of int64, shape (m,)
        Distinct (account, signal) incidences.
    group : ndarray of int64, shape (n_signals,)
        Evidence group of each signal (an IP and its network share one).
    hub : ndarray of bool, shape (n_signals,)
        Candidate hubs.
    degree : ndarray of int64, shape (n_signals,)
    n_accounts : int
    node_key : ndarray of int64, shape (n_accounts,)
        Name-independent account rank; picks each hub's sample.
    sample : int
        Accounts sampled per hub to estimate the shares.
    min_share, min_lift : float

    Returns
    -------
    ndarray of bool, shape (n_signals,)

    Notes
    -----
    O(h * sample * g) for ``h`` hubs whose sampled accounts hold ``g`` hubs of other groups
    each, plus one sort of the hub incidences; no account-pair products.

    Examples
    --------
    >>> # hubs 0 (an exit) and 1 (a fingerprint) held by the same 30 accounts; hub 2 by 30 others
    >>> acc = np.r_[np.arange(30), np.arange(30), np.arange(30, 60)]
    >>> sig = np.r_[np.zeros(30, int), np.ones(30, int), np.full(30, 2)]
    >>> coordinated_hubs(acc, sig, np.array([0, 1, 2]), np.ones(3, bool), np.array([30, 30, 30]),
    ...                  1000, np.arange(1000)).tolist()
    [True, True, False]
    """
    out = np.zeros(len(degree), bool)
    m = hub[signal]
    if not m.any():
        return out
    acc, sig = account[m].astype(np.int64), signal[m].astype(np.int64)
    # each hub's sample: its `sample` members of lowest hash(node_key, hub)
    h = _mix(node_key[acc].astype(np.int64) * np.int64(0x632BE59BD9B4E019) ^ sig)
    o = np.lexsort((h, sig))
    acc_o, sig_o = acc[o], sig[o]
    start = np.searchsorted(sig_o, sig_o, side="left")
    rank = np.arange(len(sig_o)) - start
    keep = rank < sample
    s_acc, s_sig = acc_o[keep], sig_o[keep]
    # every hub incidence, grouped by account (CSR)
    by_acc = np.argsort(acc, kind="stable")
    a_sorted, h_sorted = acc[by_acc], sig[by_acc]
    lo = np.searchsorted(a_sorted, s_acc, side="left")
    hi = np.searchsorted(a_sorted, s_acc, side="right")
    cnt = hi - lo
    rep = np.repeat(np.arange(len(s_acc)), cnt)
    pos = lo[rep] + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    src, other = s_sig[rep], h_sorted[pos]
    cross = group[src] != group[other]
    src, other = src[cross], other[cross]
    if not len(src):
        return out
    n_sig = len(degree)
    key, c = np.unique(src * n_sig + other, return_counts=True)
    a, b = key // n_sig, key % n_sig
    share = c / np.minimum(degree[a], sample)
    lift = share / np.maximum(degree[b] / max(n_accounts, 1), 1e-12)
    assoc = lift >= min_lift
    n_grp = int(group.max()) + 1
    hg = a[assoc] * n_grp + group[b[assoc]]
    ag = np.unique(hg)
    tot = np.bincount(np.searchsorted(ag, hg), weights=share[assoc], minlength=len(ag))
    out[(ag // n_grp)[tot >= min_share]] = True
    logger.info("graph: %d of %d hubs are coordinated (held by the same accounts as a hub of another kind)",
                int(out.sum()), int(hub.sum()))
    return out
