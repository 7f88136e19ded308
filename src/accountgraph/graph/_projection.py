"""Graph building and weighting: how telling is each shared signal?

Stage 3 of the pipeline. Input: the bipartite account–signal incidence
(:class:`~accountgraph._signals.SignalTable`). Output: a weighted account–account
graph in which an edge means "these two accounts share enough rare signals to
be linked".

Weighting
---------
A signal shared by ``d`` distinct accounts gets the rarity weight

.. math:: w(d) = \\frac{\\log(c / d)}{\\log(c / 2)}, \\qquad 2 \\le d \\le c,

which is 1 for a signal shared by two accounts and falls to 0 at the hub cap
``c`` (``max_signal_degree``, lowered to ``hub_share`` of all accounts on small
inputs). Signals shared by more than ``c`` accounts (carrier-grade NAT IPs,
popular SDK fingerprints, public prompt boilerplate) are *hubs*: they are kept
as evidence for scoring but never projected, so no quadratic account–account
blow-up can come from them.

For a pair of accounts the evidence of one signal type ``t`` combines the
shared signals as a noisy-or, :math:`e_t = 1 - \\prod_s (1 - w_s)` (sharing ten
mid-rarity proxy IPs is strong evidence, one is weak), and the link weight is
:math:`W = \\sum_g \\max_{t \\in g} \\alpha_t e_t` over evidence groups ``g``
(an IP and its /24 are one group: the same fact at two resolutions) with
per-type weights :math:`\\alpha_t`. Pairs with ``W < min_link`` are dropped.
With the defaults only a shared card links on its own; IPs, fingerprints and
templates must corroborate each other.

Template corroboration
----------------------
A prompt template used by thousands of accounts is a hub like any other: its
rarity weight is 0 and it is never projected. Yet a template that *dominates*
the traffic of almost everyone who uses it (a campaign's slot-filled template)
is telling, while public boilerplate that most of its users send now and then
is not. Each account's substantial families (at most its top 3, each at least
15 % of its prompts) are compared on the candidate pairs the projection
already produced; a pair sharing one gets ``+ corroboration * focus``, where
``focus`` is the share of the family's users for whom it is substantial. This
never creates a pair (memory stays bounded) and never links strangers who
share nothing else.

Memory
------
Projecting a signal of degree ``d`` creates ``d(d-1)/2`` pairs. Signals are
projected in full from the rarest up while the running pair count stays within
``max_pairs``. The signals that do not fit (typically a residential-proxy pool
whose hundreds of exits are each used by a few hundred ring accounts, the
structure that hides a large ring) are not dropped: each is projected onto a
sparse random circulant graph instead of a clique. Its members, in a seeded,
name-independent order, are linked to their next ``k`` members (``d * k``
pairs, ``k`` set by the remaining budget, at most ``sample_neighbours``).
A clique is approximated by such an expander (spectral sparsification): two
accounts that share many of these signals are sampled together in several of
them. Each sampled link carries the signal's evidence scaled by
``(d - 1) / 2k`` (so a pair's expected evidence equals that of the full
projection) but clipped at ``sample_clip`` of a full link, so that one chance
co-occurrence (a household behind one of the ring's proxy exits) never weighs
like repeated sharing. Peak memory is O(2 * max_pairs + incidences) whatever
the degree distribution; signals that do not fit even at ``k = 1`` are left
out (status ``over_budget``) with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..signals import SignalTable

__all__ = ["DEFAULT_TYPE_WEIGHTS", "AccountGraph", "build_graph", "rarity_weight"]

logger = logging.getLogger(__name__)

DEFAULT_TYPE_WEIGHTS: dict[str, float] = {
    # Only a shared payment instrument links two accounts on its own. Every
    # other type weighs less than the default ``min_link`` (0.5), so it can
    # corroborate a link but never make one alone: a residential-proxy exit or
    # CGNAT pool, a coincidental fingerprint or a popular template shared with a
    # stranger must be backed by a second, independent kind of evidence.
    "payment": 1.0,
    "ip": 0.45,
    "device": 0.45,
    "template": 0.35,
    "ip_net": 0.2,
    "email_domain": 0.15,
    "phone_prefix": 0.05,
    "x:*": 0.5,
}

#: Types whose evidence is the same fact seen at two resolutions: a pair's
#: evidence from the group is the strongest member's, never their sum.
EVIDENCE_GROUPS: dict[str, str] = {"ip": "network", "ip_net": "network"}

# Signal status codes (AccountGraph.status)
UNSHARED, LINKED, HUB, OVER_BUDGET, SAMPLED = 0, 1, 2, 3, 4
STATUS_NAMES = {UNSHARED: "unshared", LINKED: "linked", HUB: "hub", OVER_BUDGET: "over_budget", SAMPLED: "sampled"}


def rarity_weight(degree: np.ndarray, cap: float) -> np.ndarray:
    """Rarity weight of signals shared by ``degree`` accounts, in [0, 1].

    Examples
    --------
    >>> rarity_weight(np.array([1, 2, 20, 200, 500]), 200).round(2).tolist()
    [0.0, 1.0, 0.5, 0.0, 0.0]
    """
    d = np.asarray(degree, dtype=np.float64)
    cap = max(float(cap), 2.0 + 1e-9)
    with np.errstate(divide="ignore"):
        w = np.log(cap / np.maximum(d, 1.0)) / np.log(cap / 2.0)
    return np.where((d >= 2) & (d <= cap), np.clip(w, 0.0, 1.0), 0.0)


@dataclass
class AccountGraph:
    """The weighted account–account graph and per-signal statistics.

    Attributes
    ----------
    n_accounts : int
    degree : ndarray of int64, shape (n_signals,)
        Distinct accounts sharing each signal.
    weight : ndarray of float64, shape (n_signals,)
        Rarity weight ``w(d)`` (0 for unshared signals and hubs).
    status : ndarray of int8, shape (n_signals,)
        0 unshared, 1 linked (projected), 2 hub, 3 over the pair budget.
    src, dst : ndarray of int64
        Edge endpoints (``src < dst``), sorted.
    link : ndarray of float64
        Link weight ``W`` of each edge (``>= min_link``).
    cap : float
        Effective hub cap after the small-input adjustment.
    n_pairs : int
        Candidate pairs projected (before ``min_link``).
    """

    n_accounts: int
    degree: np.ndarray
    weight: np.ndarray
    status: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    link: np.ndarray
    cap: float
    n_pairs: int

    @property
    def n_edges(self) -> int:
        return len(self.src)


def _evidence(w: np.ndarray) -> np.ndarray:
    """Noisy-or evidence ``-log(1 - w)`` of rarity weights (capped at w = 0.999): sums combine as noisy-or."""
    return -np.log1p(-np.minimum(w, 0.999))


def _type_weight(name: str, weights: Mapping[str, float]) -> float:
    if name in weights:
        return float(weights[name])
    if name.startswith("x:"):
        return float(weights.get("x:*", DEFAULT_TYPE_WEIGHTS["x:*"]))
    return 0.0


def build_graph(
    sig: SignalTable,
    n_accounts: int,
    *,
    max_signal_degree: int = 500,
    hub_share: float = 0.5,
    max_pairs: int = 50_000_000,
    min_link: float = 0.5,
    type_weights: Mapping[str, float] | None = None,
    substantial: np.ndarray | None = None,
    focus: np.ndarray | None = None,
    corroboration: float = 0.25,
    node_key: np.ndarray | None = None,
    sample_neighbours: int = 8,
    sample_clip: float = 0.5,
    seed: int = 0,
) -> AccountGraph:
    """Weight signals and project them to an account–account graph.

    Parameters
    ----------
    sig : SignalTable
    n_accounts : int
    max_signal_degree : int
        Hub cap: signals shared by more accounts are never projected.
    hub_share : float
        On small inputs the cap is ``max(10, hub_share * n_accounts)`` if lower.
    max_pairs : int
        Budget of projected account pairs (memory bound).
    min_link : float
        Minimum link weight ``W`` for an edge.
    type_weights : mapping, optional
        Per signal type weight ``alpha_t``; see :data:`DEFAULT_TYPE_WEIGHTS`.
    substantial : ndarray of int64, shape (n_accounts, k), optional
        Each account's substantial template families (-1 padded).
    focus : ndarray of float64, optional
        Per family, the share of its users for whom it is substantial.
    corroboration : float
        Link weight added, times ``focus``, to a candidate pair sharing a
        substantial family.
    node_key : ndarray of int64, optional
        Name-independent rank of each account (first activity, volume); orders
        the members of sampled signals, so that renaming accounts does not
        change which pairs are sampled. Defaults to the account index.
    sample_neighbours : int
        Most neighbours ``k`` per member on each side in the circulant that
        replaces an over-budget signal's clique; 0 leaves such signals out.
    sample_clip : float
        Most evidence, in [0, 1), one sampled co-occurrence can carry.
    seed : int
        Seed of the member order of sampled signals.

    Returns
    -------
    AccountGraph

    Notes
    -----
    Time is dominated by sparse products ``B_t B_t^T`` per signal type, linear
    in the number of projected pairs.
    """
    weights = dict(DEFAULT_TYPE_WEIGHTS if type_weights is None else {**DEFAULT_TYPE_WEIGHTS, **type_weights})
    n_sig = sig.n_signals
    degree = np.bincount(sig.signal, minlength=n_sig).astype(np.int64)
    cap = float(min(max_signal_degree, max(10.0, hub_share * n_accounts)))

    status = np.full(n_sig, UNSHARED, np.int8)
    shared = degree >= 2
    status[shared & (degree > cap)] = HUB
    cand = np.flatnonzero(shared & (degree <= cap))
    pairs = degree[cand] * (degree[cand] - 1) // 2
    order = np.lexsort((cand, degree[cand]))
    deg_sorted = degree[cand[order]]
    cum = np.cumsum(pairs[order])
    fits = np.ones(len(order), bool)
    if cum.size and cum[-1] > max_pairs:
        # Cut at a whole degree level, so equally common signals are treated equally.
        last = np.r_[np.flatnonzero(np.diff(deg_sorted)), len(deg_sorted) - 1]
        ok_levels = last[cum[last] <= max_pairs]
        n_fit = int(ok_levels[-1]) + 1 if ok_levels.size else 0
        fits = np.arange(len(order)) < n_fit
    kept = cand[order[fits]]
    status[kept] = LINKED
    over = cand[order[~fits]]
    k_sig = np.zeros(n_sig, np.int64)
    if over.size:
        total = int(degree[over].sum())
        k = min(int(sample_neighbours), max_pairs // max(total, 1))
        if k >= 1:
            sampled = over
        elif sample_neighbours >= 1:
            k = 1
            sampled = over[np.cumsum(degree[over]) <= max_pairs]
        else:
            sampled = over[:0]
        k_sig[sampled] = np.minimum(k, (degree[sampled] - 1) // 2)
        sampled = sampled[k_sig[sampled] >= 1]
        status[over] = OVER_BUDGET
        status[sampled] = SAMPLED
        logger.warning(
            "pair budget max_pairs=%d binds: %d signals shared by %d-%d accounts are projected onto "
            "sparse random graphs (k=%d) instead of cliques, %d left out; raise max_pairs for the "
            "exact projection", max_pairs, sampled.size, int(degree[over].min()), int(degree[over].max()),
            k, over.size - sampled.size,
        )
    weight = np.zeros(n_sig, np.float64)
    used = (status == LINKED) | (status == SAMPLED)
    weight[used] = rarity_weight(degree[used], cap)
    lam_clip = float(_evidence(np.clip(float(sample_clip), 0.0, 1.0)))
    if node_key is None:
        node_key = np.arange(n_accounts, dtype=np.int64)

    # Per-type noisy-or evidence, then weighted sum over types.
    inc_status = status[sig.signal]
    per_group: dict[str, list[sp.coo_matrix]] = {}
    n_pairs = 0
    for t, tname in enumerate(sig.type_names):
        alpha = _type_weight(tname, weights)
        of_type = sig.signal_type[sig.signal] == t
        m = (inc_status == LINKED) & of_type
        ms = (inc_status == SAMPLED) & of_type
        if alpha <= 0 or not (m.any() or ms.any()):
            continue
        s_ids, s_local = np.unique(sig.signal[m], return_inverse=True)
        lam = _evidence(weight[s_ids])
        b = sp.csr_matrix(
            (np.sqrt(lam)[s_local], (sig.account[m], s_local)),
            shape=(n_accounts, len(s_ids)),
        )
        p = sp.triu(b @ b.T, k=1).tocsr()
        del b
        if ms.any():
            u, v, sid = circulant_pairs(sig.account[ms], sig.signal[ms], k_sig, node_key, seed)
            d = degree[sid].astype(np.float64)
            lam_s = _evidence(weight[sid]) * (d - 1) / (2 * k_sig[sid])
            p = p + sp.coo_matrix(
                (np.minimum(lam_s, lam_clip), (np.minimum(u, v), np.maximum(u, v))), shape=p.shape
            ).tocsr()
        n_pairs += p.nnz
        p.data = alpha * -np.expm1(-p.data)
        per_group.setdefault(EVIDENCE_GROUPS.get(tname, tname), []).append(p)
    if per_group:
        w = None
        for mats in per_group.values():
            g = mats[0]
            for other in mats[1:]:
                g = g.maximum(other)
            w = g if w is None else w + g
        w = w.tocoo()
        if substantial is not None and focus is not None and corroboration > 0 and w.nnz:
            w.data = w.data + corroboration * shared_family_focus(w.row, w.col, substantial, focus)
        keep = w.data >= min_link
        src, dst, link = w.row[keep].astype(np.int64), w.col[keep].astype(np.int64), w.data[keep]
        o = np.lexsort((dst, src))
        src, dst, link = src[o], dst[o], link[o]
    else:
        src = dst = np.zeros(0, np.int64)
        link = np.zeros(0, np.float64)
    logger.info(
        "graph: %d accounts, %d signals (%d linked, %d sampled, %d hubs), %d candidate pairs, %d edges >= %.2f",
        n_accounts, n_sig, len(kept), int((status == SAMPLED).sum()), int((status == HUB).sum()), n_pairs,
        len(src), min_link,
    )
    return AccountGraph(n_accounts, degree, weight, status, src, dst, link, cap, n_pairs)


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (uniform 64-bit scrambling of int64 keys)."""
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def circulant_pairs(
    account: np.ndarray, signal: np.ndarray, k_sig: np.ndarray, node_key: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse stand-in for the cliques of some signals: pairs ``(u, v, signal)``.

    The members of each signal are put in a seeded pseudo-random order that
    depends on ``node_key`` (not on account names or row order), and each is
    linked to the next ``k_sig[signal]`` members cyclically: ``d * k`` distinct
    pairs for a signal of degree ``d`` when ``k <= (d - 1) // 2``.

    Examples
    --------
    >>> u, v, s = circulant_pairs(np.arange(5), np.zeros(5, np.int64), np.array([1]), np.arange(5), 0)
    >>> len(u), sorted(np.bincount(np.r_[u, v]).tolist())
    (5, [2, 2, 2, 2, 2])
    """
    with np.errstate(over="ignore"):
        salt = _mix64(signal.astype(np.int64) * 0x632BE59BD9B4E019 + (seed & 0xFFFFFFFF))
        key = _mix64((node_key[account].astype(np.uint64) ^ salt).astype(np.int64))
    o = np.lexsort((key, signal))
    acc, sid = account[o], signal[o]
    starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
    size = np.diff(np.r_[starts, len(sid)])
    grp = np.repeat(np.arange(len(starts)), size)
    pos = np.arange(len(sid)) - starts[grp]
    k_inc = k_sig[sid]
    us, vs, ss = [], [], []
    for j in range(1, int(k_inc.max(initial=0)) + 1):
        m = np.flatnonzero(k_inc >= j)
        g = grp[m]
        partner = starts[g] + (pos[m] + j) % size[g]
        us.append(acc[m])
        vs.append(acc[partner])
        ss.append(sid[m])
    if not us:
        e = np.zeros(0, np.int64)
        return e, e, e
    return np.concatenate(us), np.concatenate(vs), np.concatenate(ss)


def shared_family_focus(rows: np.ndarray, cols: np.ndarray, substantial: np.ndarray, focus: np.ndarray) -> np.ndarray:
    """For each pair, the largest ``focus`` of a family substantial to both (0 if none).

    ``substantial`` has a handful of columns, so this is ``k * k`` vectorised
    comparisons over the pairs, in chunks to bound memory.
    """
    out = np.zeros(len(rows), np.float64)
    if not len(focus):  # no prompt in any template family (e.g. every prompt distinct)
        return out
    k = substantial.shape[1]
    step = 5_000_000
    for lo in range(0, len(rows), step):
        a = substantial[rows[lo:lo + step]]
        b = substantial[cols[lo:lo + step]]
        best = np.zeros(len(a))
        for x in range(k):
            fa = a[:, x]
            ok = fa >= 0
            for y in range(k):
                hit = ok & (fa == b[:, y])
                best = np.where(hit, np.maximum(best, focus[np.where(hit, fa, 0)]), best)
        out[lo:lo + step] = best
    return out


def substantial_families(
    ev_account: np.ndarray, ev_family: np.ndarray, n_accounts: int, *, top: int = 3, min_share: float = 0.15
) -> tuple[np.ndarray, np.ndarray]:
    """Each account's substantial template families and each family's focus.

    Returns
    -------
    substantial : ndarray of int64, shape (n_accounts, top)
        Families making up at least ``min_share`` of the account's prompts
        (at most ``top``, largest first, ties by family id), -1 padded.
    focus : ndarray of float64, shape (n_families,)
        Share of a family's users for whom it is substantial.
    """
    sub = np.full((n_accounts, top), -1, np.int64)
    ok = ev_family >= 0
    if not ok.any():
        return sub, np.zeros(0)
    n_fam = int(ev_family.max()) + 1
    key = ev_account[ok].astype(np.int64) * n_fam + ev_family[ok]
    u, c = np.unique(key, return_counts=True)
    acc, fam = u // n_fam, u % n_fam
    total = np.bincount(ev_account[ok], minlength=n_accounts)
    share = c / np.maximum(total[acc], 1)
    order = np.lexsort((fam, -c, acc))
    acc, fam, share = acc[order], fam[order], share[order]
    rank = np.arange(len(acc)) - np.searchsorted(acc, acc, side="left")
    good = (rank < top) & (share >= min_share)
    sub[acc[good], rank[good]] = fam[good]
    users = np.bincount(fam, minlength=n_fam).astype(np.float64)
    focused = np.bincount(fam[good], minlength=n_fam).astype(np.float64)
    return sub, focused / np.maximum(users, 1)
