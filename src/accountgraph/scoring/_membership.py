"""How strongly each account belongs to its own cluster (account-level membership).

A cluster is flagged as a whole, but not every account in it need be a ring
member: a household behind one of the ring's residential exits, or a user of a
public template the ring copied, is pulled in by a single shared signal. The
member score compares an account's share of its cluster's *concentrated*
signals with that of the cluster's typical member, and its own behaviour (the
share of its prompts in the templates its cluster shares) with that of the
cluster's typical *sender* of those templates; where the cluster has such
templates, the score is a weighted mean of both in which behaviour counts up to 1.5x (less
where the shared templates carry little of the cluster's prompts).
"""

from __future__ import annotations

import numpy as np

from .._grouping import group_quantile_dense
from ..signals import ClusterPairs, cluster_pairs

__all__ = ["member_scores"]

#: The member whose strength is the reference: the cluster's lower quartile.
STRENGTH_QUANTILE = 0.25
#: Weight of the behaviour ratio against the strength ratio (1) in the member score.
BEHAVIOUR_WEIGHT = 1.5
#: A template family is the cluster's own when this share of its users are in the cluster.
OWN_TEMPLATE_SHARE = 0.3
#: Share of a cluster's template prompts in its shared templates at which behaviour gets its
#: full weight (linearly less below).
FULL_COVERAGE = 0.1


def member_scores(account: np.ndarray, signal: np.ndarray, acc_cluster: np.ndarray, degree: np.ndarray,
                  weight: np.ndarray, pairs: ClusterPairs | None = None, *, n_events: np.ndarray | None = None,
                  template: np.ndarray | None = None) -> np.ndarray:
    """Member score in [0, 1] per account (0 for accounts in no cluster).

    Parameters
    ----------
    account, signal : ndarray of int64, shape (m,)
        Distinct (account, signal) incidences (:class:`~accountgraph.signals.SignalTable`).
    acc_cluster : ndarray of int64, shape (n_accounts,)
        Cluster index per account, -1 for none.
    degree : ndarray of int64, shape (n_signals,)
        Distinct accounts sharing each signal, in the whole input.
    weight : ndarray of float64, shape (n_signals,)
        Rarity weight of each signal (0 for hubs and unshared signals).
    pairs : ClusterPairs, optional
        :func:`~accountgraph.signals.cluster_pairs` of these incidences and
        clusters, if already computed (it is computed otherwise).
    n_events : ndarray of int64, shape (m,), optional
        Events behind each incidence; with ``template``, enables the behaviour half.
    template : ndarray of bool, shape (n_signals,), optional
        Which signals are prompt-template families.

    Returns
    -------
    ndarray of float64, shape (n_accounts,)

    Notes
    -----
    For a cluster ``c`` and a signal ``s`` held by at least two of its
    accounts, the evidence ``e(c, s) = weight(s) * k(c, s) / degree(s)`` is the
    signal's rarity times its concentration in ``c`` (``k`` of the accounts
    holding it are in ``c``). An account's strength is the sum of ``e`` over
    its signals, and its member score is that strength over the strength of the
    cluster's lower-quartile member (:data:`STRENGTH_QUANTILE`), clipped to 1. Three
    quarters of the members score 1; an account tied by one exit that the others
    hold among many scores far less. The reference is a low quantile, not the median,
    because a cluster may hold two rings (or two heads of one) whose accounts hold
    different numbers of signals: against the median of the larger, the accounts of
    the smaller would look weakly tied. On the tuning worlds the lower quartile kept
    112 more ring accounts than the median for 3 more benign ones (quantiles 0.1-0.5
    compared); people behind a ring's exits stay out unless they are a quarter of
    its cluster, and then the behaviour half below keeps them out where the ring
    shares templates.

    Behaviour (where ``n_events`` and ``template`` are given): see :func:`_behaviour_ratio`;
    where there is behaviour evidence the member score is
    ``(strength ratio + w behaviour ratio) / (1 + w)`` with ``w = 1.5 min(1, coverage / 0.1)``.
    """
    n = len(acc_cluster)
    out = np.zeros(n, np.float64)
    if pairs is None:
        pairs = cluster_pairs(account, signal, acc_cluster, len(degree))
    if not len(pairs.rows):
        return out
    k = pairs.count[pairs.pair]
    sig = signal[pairs.rows]
    conc = k / np.maximum(degree[sig], 1)
    evidence = np.where(k >= 2, weight[sig] * conc, 0.0)
    strength = np.bincount(account[pairs.rows], weights=evidence, minlength=n)
    member = acc_cluster >= 0
    n_cl = int(acc_cluster.max()) + 1
    ref = group_quantile_dense(strength[member], acc_cluster[member], n_cl, STRENGTH_QUANTILE)
    ref_acc = ref[acc_cluster[member]]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ref_acc > 0, strength[member] / ref_acc, (strength[member] > 0).astype(np.float64))
    out[member] = np.clip(ratio, 0.0, 1.0)
    if n_events is not None and template is not None:
        beh, coverage = _behaviour_ratio(account, signal, acc_cluster, pairs, n_events, template, n_cl, degree)
        w = np.zeros(n)
        w[member] = BEHAVIOUR_WEIGHT * np.minimum(1.0, coverage / FULL_COVERAGE)[acc_cluster[member]]
        out = np.where(np.isnan(beh), out, (out + w * np.nan_to_num(beh)) / (1.0 + w))
    return out


def _behaviour_ratio(account: np.ndarray, signal: np.ndarray, acc_cluster: np.ndarray, pairs: ClusterPairs,
                     n_events: np.ndarray, template: np.ndarray, n_cl: int,
                     degree: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each clustered account's share of prompts in its cluster's shared templates, over the median sender's,
    and per cluster the coverage of that evidence (the share of its template prompts in shared templates).

    Behaviour: a cluster's *shared* templates are the families used by at least
    three of its accounts and either by ``30 %`` of them or mostly (``30 %`` of
    the family's users) inside it. The second clause keeps one ring's templates
    shared when the cluster also holds other rings or many people behind their
    exits, so that no template reaches 30 % of the cluster. An account's behaviour
    is the share of its prompts in them, over the median share among the cluster's
    accounts that send any (clipped to 1). The reference is the senders' median,
    not every member's: in a cluster where strangers behind a ring's exits
    outnumber the ring, the median member sends none of its templates, and
    comparing with it would make the strangers typical. Clusters where no account
    sends a shared template have no behaviour evidence. Where there is behaviour
    evidence the member score is ``(strength ratio + 1.5 behaviour ratio) / 2.5``:
    a ring account tied by few signals but sending the ring's templates stays in
    (1/3 and 1 give 0.73), while people behind the ring's exits, who send none of
    its templates, score at most 0.4 however many exits they share, under the
    default gate of 0.5. The weights were compared (1, 1.5, 2) on the tuning worlds
    (``benchmarks/PROTOCOL.md``).

    Not sending the shared templates says something only where they carry the cluster's
    traffic: a ring of a few prompts per account, each its own variant, shares a family or two
    among three of its accounts, and the others, sending none, would look like strangers. So
    the behaviour weight is scaled by the cluster's *coverage*, the share of its template
    prompts that are in shared templates: full from :data:`FULL_COVERAGE` (0.1) up, linearly
    less below, so that under 1/15 of coverage a member tied as strongly as the cluster's
    typical one stays over the gate of 0.5 whatever it sends (a ring of 29 accounts at 9
    prompts each, coverage 0.04, was flagged 5 of 29; on the tuning worlds 0.1 and 0.2 change
    no flag, 0.4 adds 16 false positives).
    Vectorised: one ``unique`` over (cluster, signal)
    pairs (shared with the views) and a few ``bincount``.
    """
    n = len(acc_cluster)
    # only template incidences count: pick them first (a rotating account's addresses outnumber them)
    t_at = np.flatnonzero(template[signal[pairs.rows]])
    rows, pair = pairs.rows[t_at], pairs.pair[t_at]
    sig = signal[rows]
    acc = account[rows]
    ev = n_events[rows].astype(np.float64)
    size = np.bincount(acc_cluster[acc_cluster >= 0], minlength=n_cl)
    cl = pairs.cluster[pair]
    k = pairs.count[pair]
    own = k >= OWN_TEMPLATE_SHARE * np.maximum(degree[sig], 1)
    shared = (k >= 3) & ((k >= 0.3 * size[cl]) | own)
    prompts = np.bincount(acc, weights=ev, minlength=n)
    in_shared = np.bincount(acc[shared], weights=ev[shared], minlength=n)
    share = np.where(prompts > 0, in_shared / np.maximum(prompts, 1), 0.0)
    member = acc_cluster >= 0
    sender = member & (share > 0)
    ref = np.nan_to_num(group_quantile_dense(share[sender], acc_cluster[sender], n_cl, 0.5))[acc_cluster[member]]
    out = np.full(n, np.nan)
    out[member] = np.where(ref > 0, np.clip(share[member] / np.where(ref > 0, ref, 1.0), 0.0, 1.0), np.nan)
    in_templates = np.bincount(cl, weights=ev, minlength=n_cl)
    coverage = np.bincount(cl[shared], weights=ev[shared], minlength=n_cl) / np.maximum(in_templates, 1.0)
    return out, coverage
