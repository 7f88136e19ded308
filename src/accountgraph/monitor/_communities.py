"""Communities of the components an update touched.

Only the components holding an account whose links moved (the *affected*
components) are revisited; every other account keeps its ring. On them the
monitor runs the batch detector's own partition
(:func:`accountgraph.communities.find_communities`: Leiden per component from
singletons, dense communities rejoined, oversized ones re-split), then, as the
batch detector does, detaches weak members, attaches strongly tied loners and
drops communities below ``min_cluster_size``. Ring ids are carried over by
:mod:`._identity`, not by the partition.

**Hysteresis.** On a component that is one large ring, modularity never
prefers the whole (a community that is its whole component scores 0), so
Leiden returns pieces, and whether ``merge_dense`` rejoins them depends on
densities that hover near ``merge_density``: the 25,000 accounts of
``seed-2026`` came back as one ring on some days and as three of about 8,000
(or the whole less a piece of 60-90 accounts) on others, were reported
``split`` and ``merged`` on alternate days, lost their id twice and were
rescored from scratch on most days. The monitor therefore rejoins a community
that is mostly (more than half) one previous ring and sends more than
``REJOIN_SHARE`` of its link weight to that ring's other pieces: such a piece is
not a community on its own in Radicchi et al.'s weak sense (more weight inside
than out), so a ring splits when its evidence does, not whenever Leiden lands
in another of its near-equal partitions. Rejoining never builds a community
above the oversize bound the batch partition splits at.

With ``warm=True`` (``Monitor(warm_start=True)``) Leiden instead starts from the
previous rings (``community_leiden(initial_membership=...)``; a new account, or
one in no ring, starts alone) and only moves what the batch changed. That is
cheaper and keeps partitions stabler, but it is path-dependent: a community
that absorbed benign accounts early keeps them. On the tuning world
``random --seed 1000 --scale 0.05`` fed daily it flagged 113 accounts at F1
0.686 against the labels (``detect``: 196, F1 0.964; the cold partition: 192,
F1 0.954, agreement with ``detect`` 0.985), so it is off by default. The
rejoining above applies to the cold partition only.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ..communities import (attach_by_shared_signals, component_labels, detach_weak_members, edge_pairs,
                           find_communities, isolated_igraph_rng, merge_dense)
from ..engines import PipelineConfig
from ..graph import AccountGraph
from ._keys import rows_of
from ._state import State, unpack
from .._unique import lexsort, union, unique

__all__ = ["REJOIN_SHARE", "WARM_ITERATIONS", "region_communities", "rejoin_pieces"]

#: Leiden iterations of a warm start when ``n_iterations`` is -1 ("until stable"): igraph 1.0
#: never returns from ``community_leiden(initial_membership=..., n_iterations=-1)`` when the
#: starting partition is already stable (measured here), and a warm start converges in a few.
WARM_ITERATIONS = 10

#: A piece of a previous ring that sends more than this share of its link weight (a link inside it
#: counted at both ends) to the ring's other pieces rejoins them (see "Hysteresis" above).
REJOIN_SHARE = 0.5

logger = logging.getLogger(__name__)


def _affected(state: State, region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Accounts of the components holding a region account (plus the region), and their component."""
    n = state.n_accounts
    _, comp = component_labels(n, state.e_src, state.e_dst)
    has_edge = np.zeros(n, bool)
    has_edge[state.e_src] = True
    has_edge[state.e_dst] = True
    hit = np.zeros(int(comp.max()) + 1 if n else 0, bool)
    hit[comp[region[has_edge[region]]]] = True
    accounts = union(np.flatnonzero(has_edge & hit[comp]), region)
    # Whole rings: members attached without links of their own are revisited with their ring.
    rings = unique(state.ring[accounts])
    accounts = union(accounts, np.flatnonzero(np.isin(state.ring, rings[rings >= 0])))
    c = np.where(has_edge[accounts], comp[accounts], -1)
    return accounts, c


def _local_graph(state: State, accounts: np.ndarray, template: AccountGraph) -> AccountGraph:
    """The links among ``accounts`` (local indices 0..len-1) with the state's signal arrays."""
    local = np.full(state.n_accounts, -1, np.int64)
    local[accounts] = np.arange(len(accounts))
    m = (local[state.e_src] >= 0) & (local[state.e_dst] >= 0)
    return AccountGraph(len(accounts), template.degree, template.weight, template.status, local[state.e_src[m]],
                        local[state.e_dst[m]], state.e_w[m], template.cap, 0)


def _pair_ids(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dense ids ``0..k-1`` of the distinct pairs ``(a[i], b[i])``."""
    order = lexsort((b, a))
    new = np.r_[True, (a[order][1:] != a[order][:-1]) | (b[order][1:] != b[order][:-1])]
    out = np.empty(len(a), np.int64)
    out[order] = np.cumsum(new) - 1
    return out


def _warm_leiden(state: State, cfg: PipelineConfig, accounts: np.ndarray, comp: np.ndarray,
                 g: AccountGraph) -> np.ndarray:
    """Community label per local account: components as they are, large ones split by warm-started Leiden."""
    import igraph

    p = cfg.communities
    n = len(accounts)
    labels = comp.copy()  # small components (and -1 for accounts without links)
    if not (comp >= 0).any():
        return labels
    sizes = np.bincount(comp[comp >= 0], minlength=int(comp.max()) + 1 if n else 0)
    big = (comp >= 0) & (sizes[np.maximum(comp, 0)] > p.split_min_size)
    if not big.any() or p.method == "components":
        return labels
    nodes = np.flatnonzero(big)
    acc = accounts[nodes]
    nodes = nodes[lexsort((acc, -state.n_events[acc], state.first_ts[acc]))]  # first activity, then volume
    pos = np.full(n, -1, np.int64)
    pos[nodes] = np.arange(len(nodes))
    e = big[g.src]
    es, ed, w = pos[g.src[e]], pos[g.dst[e]], g.link[e]
    prev = state.ring[accounts[nodes]]
    start_key = np.where(prev >= 0, prev, -1 - accounts[nodes])  # previous ring, else alone
    init = _pair_ids(comp[nodes], start_key)
    graph = igraph.Graph(n=len(nodes), edges=edge_pairs(es, ed), directed=False)
    with isolated_igraph_rng(cfg.seed):
        part = graph.community_leiden(objective_function="modularity", weights=w.tolist(), resolution=p.resolution,
                                      n_iterations=p.n_iterations if p.n_iterations > 0 else WARM_ITERATIONS,
                                      initial_membership=init.tolist())
    sub = merge_dense(np.asarray(part.membership, np.int64), es, ed, w, p.merge_density)[0]
    labels[nodes] = int(comp.max()) + 1 + sub
    return labels


def _cold(state: State, cfg: PipelineConfig, accounts: np.ndarray, g: AccountGraph) -> np.ndarray:
    """The batch detector's partition of the revisited accounts' links (Leiden from singletons)."""
    p = cfg.communities
    acc = accounts
    key = lexsort((acc, -state.n_events[acc], state.first_ts[acc])).argsort()
    share = min(1.0, p.oversize_share * state.n_accounts / max(len(accounts), 1))
    return find_communities(g, method=p.method, resolution=p.resolution, split_min_size=p.split_min_size,
                            merge_density=p.merge_density, seed=cfg.seed, node_key=key, n_iterations=p.n_iterations,
                            oversize_share=share, oversize_min=p.oversize_min, top_links=p.leiden_links)


def _dominant(labels: np.ndarray, prev: np.ndarray, k: int) -> np.ndarray:
    """Per community label, the previous ring holding more than half of its accounts (-1: none)."""
    dom = np.full(k, -1, np.int64)
    m = (labels >= 0) & (prev >= 0)
    if not m.any():
        return dom
    pair, cnt = np.unique(np.stack([labels[m], prev[m]]), axis=1, return_counts=True)
    major = 2 * cnt > np.bincount(labels[labels >= 0], minlength=k)[pair[0]]
    dom[pair[0][major]] = pair[1][major]
    return dom


def rejoin_pieces(labels: np.ndarray, prev: np.ndarray, src: np.ndarray, dst: np.ndarray, w: np.ndarray,
                  min_share: float, max_size: float) -> tuple[np.ndarray, int]:
    """Rejoin communities that are pieces of one previous ring and whose links lead mostly into it.

    Parameters
    ----------
    labels : ndarray of int64
        Community label per account (-1: in none).
    prev : ndarray of int64
        Previous ring per account (-1: in none).
    src, dst, w : ndarray
        Links between accounts (indices into ``labels``) and their weights.
    min_share : float
        A community whose majority is a previous ring, and which sends more than this share of
        its link weight to the other communities of that majority, joins the one it sends most to.
    max_size : float
        A group of joined pieces larger than this is left apart (the oversize bound).

    Returns
    -------
    labels : ndarray of int64
        New labels (arbitrary values; -1 kept).
    n_rejoined : int
        Communities absorbed into another.
    """
    ok = labels >= 0
    if not ok.any():
        return labels, 0
    k = int(labels.max()) + 1
    dom = _dominant(labels, prev, k)
    a, b = labels[src], labels[dst]
    da = np.where(a >= 0, dom[np.maximum(a, 0)], -1)
    db = np.where(b >= 0, dom[np.maximum(b, 0)], -1)
    cross = (da >= 0) & (da == db) & (a != b)
    if not cross.any():
        return labels, 0
    vol = np.bincount(a[a >= 0], w[a >= 0], k) + np.bincount(b[b >= 0], w[b >= 0], k)
    x, y = np.r_[a[cross], b[cross]], np.r_[b[cross], a[cross]]
    key, inv = np.unique(x * k + y, return_inverse=True)  # weight sent from piece x to piece y
    cut = np.bincount(inv.reshape(-1), weights=np.r_[w[cross], w[cross]], minlength=len(key))
    ci, cj = key // k, key % k
    first = np.full(k, np.iinfo(np.int64).max)  # label values are arbitrary: ties go by smallest account
    np.minimum.at(first, labels[ok], np.flatnonzero(ok))
    order = lexsort((first[cj], -cut, ci))
    best = order[np.r_[True, ci[order][1:] != ci[order][:-1]]]  # per piece, the piece it sends most to
    go = best[np.bincount(ci, cut, k)[ci[best]] > min_share * vol[ci[best]]]
    if not len(go):
        return labels, 0
    cg = sp.coo_matrix((np.ones(len(go)), (ci[go], cj[go])), shape=(k, k))
    _, grp = connected_components(cg, directed=False)
    size = np.bincount(labels[ok], minlength=k)
    joined = np.bincount(grp, weights=size)[grp] <= max_size
    new = np.where(joined, grp, k + np.arange(k))
    n_rejoined = int(joined.sum() - len(unique(grp[joined]))) if joined.any() else 0
    return np.where(ok, new[np.maximum(labels, 0)], -1), n_rejoined


def region_communities(state: State, cfg: PipelineConfig, region: np.ndarray, template: AccountGraph,
                       warm: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Revisited accounts and their community label (-1: in none), labels arbitrary.

    Parameters
    ----------
    state : State
        After the update's links were spliced in.
    cfg : PipelineConfig
    region : ndarray of int64
        Accounts whose links were recomputed.
    template : AccountGraph
        The update's projection (for the state's per-signal degree, weight and status).
    warm : bool
        Start Leiden from the previous rings (see the module docstring) instead of running the
        batch detector's partition (:func:`accountgraph.communities.find_communities`) on them.
    """
    p = cfg.communities
    accounts, comp = _affected(state, region)
    g = _local_graph(state, accounts, template)
    n_rej = 0
    if warm:
        labels = _warm_leiden(state, cfg, accounts, comp, g)
    else:
        labels = _cold(state, cfg, accounts, g)
        max_size = max(p.oversize_min, p.oversize_share * state.n_accounts) if p.oversize_share < 1 else np.inf
        labels, n_rej = rejoin_pieces(labels, state.ring[accounts], g.src, g.dst, g.link,
                                      REJOIN_SHARE, max_size)
    labels, n_det = detach_weak_members(labels, g, min_strength=p.detach_min_strength, min_size=p.detach_min_size,
                                        quantile=p.detach_quantile, max_links=p.detach_max_links)
    local = np.full(state.n_accounts, -1, np.int64)
    local[accounts] = np.arange(len(accounts))
    acc, sig = unpack(state.inc_key[rows_of(state.inc_key, accounts)])  # accounts: sorted, distinct
    labels, n_att = attach_by_shared_signals(
        labels, local[acc], sig, g, min_signals=p.attach_min_signals, min_share=p.attach_min_share,
        min_size=p.attach_min_size, min_concentration=p.attach_min_concentration, min_presence=p.attach_min_presence,
        min_strength=p.attach_min_strength, rounds=p.attach_rounds)
    ok = labels >= 0
    if ok.any():
        sizes = np.bincount(labels[ok])
        labels[ok & (sizes[np.maximum(labels, 0)] < p.min_cluster_size)] = -1
    logger.info("monitor communities: %d accounts revisited, %d pieces of earlier rings rejoined, %d detached, "
                "%d attached", len(accounts), n_rej, n_det, n_att)
    return accounts, labels
