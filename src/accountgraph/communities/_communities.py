"""Community detection on the account graph (igraph's C core).

Stage 4 of the pipeline. Connected components of the link graph are computed
first (scipy, linear time). Small components are clusters as they are; larger
ones — where a residential proxy or a shared office can chain unrelated groups —
are split with the Leiden algorithm (Traag, Waltman & van Eck, 2019) optimising
weighted modularity; communities that remain densely cross-linked are then
rejoined, so bridges are cut but a ring is not split into its payment cells.

Determinism
-----------
igraph draws random numbers from one process-wide generator (Python's
:mod:`random` module by default). :func:`isolated_igraph_rng` installs a private
``random.Random(seed)`` for the duration of the call and restores the previous
generator afterwards, so results depend only on ``seed`` and the caller's
global random state is untouched. Vertices are handed to igraph in an order
derived from the data (first activity, volume), not from account names, so
renaming accounts does not reshuffle Leiden's visiting order.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np

from .._grouping import group_quantile
from ..graph import AccountGraph
from ._leiden import component_labels, isolated_igraph_rng, leiden_components, merge_dense, split_oversized
from .._unique import lexsort, unique, unique_inverse

__all__ = ["isolated_igraph_rng", "find_communities", "detach_weak_members", "attach_by_shared_signals",
           "split_oversized"]

logger = logging.getLogger(__name__)

def find_communities(
    graph: AccountGraph,
    *,
    method: Literal["leiden", "components"] = "leiden",
    resolution: float = 1.0,
    split_min_size: int = 8,
    merge_density: float = 0.05,
    seed: int = 0,
    node_key: np.ndarray | None = None,
    n_iterations: int = -1,
    oversize_share: float = 1.0,
    oversize_min: int = 1000,
    top_links: int = 0,
) -> np.ndarray:
    """Partition the linked accounts.

    Parameters
    ----------
    graph : AccountGraph
    method : {"leiden", "components"}
        ``"components"`` returns connected components only.
    resolution : float
        Leiden modularity resolution (higher gives smaller clusters).
    split_min_size : int
        Components with at most this many accounts are not split.
    merge_density : float
        Leiden communities whose cross-link weight per possible pair reaches
        this are rejoined (see :func:`~._leiden.merge_dense`): Leiden's job here is to cut
        bridges between unrelated groups, not to split a densely knit ring
        into its payment cells.
    seed : int
        Seed of Leiden's private random generator.
    node_key : ndarray, optional
        Sort key per account defining the vertex order given to igraph
        (ties broken by account code).
    n_iterations : int
        Leiden iterations; negative runs until the partition is stable.
    oversize_share, oversize_min : float, int
        Communities larger than ``max(oversize_min, oversize_share * n_accounts)`` are split
        again at higher resolutions (:func:`~._leiden.split_oversized`): a ring is a small
        share of a user base.
    top_links : int
        Leiden partitions a component of more than ``top_links`` links per account (and more than
        :data:`~._leiden.SPARSE_MIN_EDGES`) on its accounts' ``top_links`` strongest links (:func:`~._leiden.strongest_links`); 0: on all.

    Returns
    -------
    membership : ndarray of int64, shape (n_accounts,)
        Arbitrary community labels; -1 for accounts with no link.

    Notes
    -----
    Components: O(V + E). Leiden: roughly O(E) per iteration in igraph's C core.
    """
    n = graph.n_accounts
    membership = np.full(n, -1, np.int64)
    if graph.n_edges == 0:
        return membership
    _, comp = component_labels(n, graph.src, graph.dst)
    active = np.zeros(n, bool)
    active[graph.src] = True
    active[graph.dst] = True
    membership[active] = comp[active]
    if method == "components":
        return membership

    sizes = np.bincount(comp[active], minlength=comp.max() + 1)
    big = active & (sizes[comp] > split_min_size)
    if not big.any():
        return membership
    nodes, sub = _split_large(graph, comp, big, resolution=resolution, merge_density=merge_density, seed=seed,
                              node_key=node_key, n_iterations=n_iterations, top_links=top_links)
    membership[nodes] = comp.max() + 1 + sub
    max_size = max(int(oversize_min), int(oversize_share * n))
    if oversize_share < 1.0 and (np.bincount(membership[active]) > max_size).any():
        membership, _ = split_oversized(membership, graph.src, graph.dst, graph.link, node_key, max_size=max_size,
                                        resolution=resolution, seed=seed, n_iterations=n_iterations,
                                        top_links=top_links)
    return membership


def _split_large(
    graph: AccountGraph, comp: np.ndarray, big: np.ndarray, *, resolution: float, merge_density: float,
    seed: int, node_key: np.ndarray | None, n_iterations: int, top_links: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Leiden on each large component (:func:`leiden_components`), then :func:`merge_dense`.

    Returns the accounts handed to igraph (grouped by component, ranked by their first
    account in ``node_key`` order) and their community labels ``0..``.
    """
    n = graph.n_accounts
    nodes = np.flatnonzero(big)
    key = node_key[nodes] if node_key is not None else nodes
    first = np.full(int(comp.max()) + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, comp[nodes], key)
    rank = np.argsort(np.argsort(first, kind="stable"), kind="stable")
    nodes = nodes[lexsort((nodes, key, rank[comp[nodes]]))]
    crank = np.unique(rank[comp[nodes]], return_inverse=True)[1]
    pos = np.full(n, -1, np.int64)
    pos[nodes] = np.arange(len(nodes))
    e = big[graph.src]  # both ends share a component, so both are big
    es, ed = pos[graph.src[e]], pos[graph.dst[e]]
    sub = leiden_components(crank, es, ed, graph.link[e], resolution=resolution, seed=seed,
                            n_iterations=n_iterations, top_links=top_links)
    n_leiden = int(unique(sub).size)
    sub, n_merged = merge_dense(np.unique(sub, return_inverse=True)[1], es, ed, graph.link[e], merge_density)
    logger.info(
        "leiden: %d accounts in %d large components -> %d communities, %d rejoined by density >= %.2f -> %d",
        len(nodes), int(crank.max()) + 1, n_leiden, n_merged, merge_density, int(unique(sub).size),
    )
    return nodes, sub


def detach_weak_members(
    membership: np.ndarray, graph: AccountGraph, *, min_strength: float = 0.15, min_size: int = 6,
    quantile: float = 0.25, max_links: int | None = None,
) -> tuple[np.ndarray, int]:
    """Detach accounts that hang on a community by a thread.

    An account's strength in its community is the summed weight of its links
    to other members. In communities of at least ``min_size`` accounts, members
    whose strength is below ``min_strength`` times that of the community's
    ``quantile`` member (its lower quartile by default) are set to -1 (in no
    cluster). This is what separates a household
    that shares one residential-proxy exit and a popular (spoofed) fingerprint
    with one ring account from the ring itself, whose members are tied by
    dozens of links. The reference is a low quantile, not the median, because
    a community may hold two rings (or a ring and the strangers behind its
    exits): against the median of the denser ring, the members of the other
    look weakly tied. With ``max_links``, only members tied by at most that many
    links to the others can be detached (a thread is one or two links; the
    pipeline passes ``CommunityParams.detach_max_links``). One vectorised pass
    (no iteration to a fixed point).

    Returns
    -------
    membership : ndarray of int64
        A copy with weak members set to -1.
    n_detached : int
    """
    out = membership.copy()
    if graph.n_edges == 0:
        return out, 0
    ms, md = membership[graph.src], membership[graph.dst]
    inside = (ms == md) & (ms >= 0)
    n = graph.n_accounts
    strength = np.bincount(graph.src[inside], weights=graph.link[inside], minlength=n) + np.bincount(
        graph.dst[inside], weights=graph.link[inside], minlength=n
    )
    member = np.flatnonzero(membership >= 0)
    labels, size, ref = group_quantile(strength[member], membership[member], quantile)
    inv = np.searchsorted(labels, membership[member])
    weak = (size[inv] >= min_size) & (strength[member] < min_strength * ref[inv])
    if max_links is not None:
        n_links = np.bincount(graph.src[inside], minlength=n) + np.bincount(graph.dst[inside], minlength=n)
        weak &= n_links[member] <= max_links
    out[member[weak]] = -1
    n_weak = int(weak.sum())
    if n_weak:
        logger.info("detached %d weakly attached account(s) from their communities", n_weak)
    return out, n_weak


def attach_by_shared_signals(
    membership: np.ndarray,
    account: np.ndarray,
    signal: np.ndarray,
    graph: AccountGraph,
    *,
    min_signals: int = 20,
    min_share: float = 0.5,
    min_size: int = 6,
    min_concentration: float = 0.5,
    min_presence: float = 0.2,
    min_strength: float = 0.5,
    rounds: int = 3,
) -> tuple[np.ndarray, int]:
    """Attach accounts left outside the communities to the one they share many signals with.

    A link needs two kinds of evidence, so a ring account whose only tie is
    its proxy exits (each shared with a handful of ring accounts, none with
    enough of them to pass ``min_link`` alone) is left out although it shares
    a hundred exits with the ring. Here an account in no community of at least
    ``min_size`` accounts joins community ``C`` when at least ``min_signals``
    of its projectable signals (linked or sampled, rarity weight > 0) are
    *concentrated* in ``C``, and these make up at least ``min_share`` of its
    projectable signals and at least ``min_strength`` times as many as the
    community's median member has concentrated in it (the mirror of
    :func:`detach_weak_members`: it must be tied about as well as the members
    are). A signal is concentrated in ``C`` when two or more of its accounts
    are members, they are at least ``min_concentration`` of its accounts that
    are in any community and at least ``min_presence`` of all its accounts.
    Accounts attached in one round count as members in the next (at most
    ``rounds``), so a ring first found in fragments gathers its loners.

    Why these bars: an account rotating through a proxy pool touches dozens of
    the ring's exits; a person's home, mobile and office addresses are a
    handful (on the synthetic scenarios legitimate users reused by a ring's
    residential proxies share at most 18 such signals, ring loners 29 or more).
    A household behind one of the ring's exits shares one such signal and
    stays out; a mobile user whose carrier IPs the ring's proxies also use
    shares signals in which the ring is a minority. Each round is vectorised.

    Parameters
    ----------
    membership : ndarray of int64
        Community per account, -1 for none.
    account, signal : ndarray of int64
        The distinct (account, signal) incidences.
    graph : AccountGraph
        Supplies the rarity weights (0 for hubs and unshared signals) and degrees.
    min_signals, min_share, min_size, min_concentration, min_presence, min_strength, rounds
        See above; ``min_signals=0`` disables attachment.

    Returns
    -------
    membership : ndarray of int64
        A copy with attached accounts' communities set.
    n_attached : int
    """
    out = membership.copy()
    if min_signals < 1 or not (membership >= 0).any():
        return out, 0
    usable = graph.weight[signal] > 0
    a, s = account[usable].astype(np.int64), signal[usable].astype(np.int64)
    total = 0
    for _ in range(max(int(rounds), 1)):
        out, n_att = _attach_round(
            out, a, s, graph, min_signals=min_signals, min_share=min_share, min_size=min_size,
            min_concentration=min_concentration, min_presence=min_presence, min_strength=min_strength,
        )
        total += n_att
        if not n_att:
            break
    if total:
        logger.info("attached %d account(s) to the community they share >= %d signals with", total, min_signals)
    return out, total


def _attach_round(
    membership: np.ndarray, a: np.ndarray, s: np.ndarray, graph: AccountGraph, *, min_signals: int,
    min_share: float, min_size: int, min_concentration: float, min_presence: float, min_strength: float,
) -> tuple[np.ndarray, int]:
    """One round of :func:`attach_by_shared_signals` on the usable incidences ``(a, s)``."""
    out = membership.copy()
    k = int(membership.max()) + 1
    size = np.bincount(np.maximum(membership, 0), weights=(membership >= 0), minlength=k)
    in_big = (membership >= 0) & (size[np.maximum(membership, 0)] >= min_size)
    if not in_big.any():
        return out, 0
    mb = in_big[a]
    key, inv, cnt = unique_inverse(s[mb] * k + membership[a[mb]])
    sig_k = key // k
    # a signal's incidences from members: the sum of its keys' counts (adjacent, the keys are sorted)
    starts = np.flatnonzero(np.r_[True, sig_k[1:] != sig_k[:-1]]) if len(key) else np.zeros(0, np.int64)
    held = np.repeat(np.add.reduceat(cnt, starts), np.diff(np.r_[starts, len(key)])) if len(key) else cnt
    conc = (cnt >= 2) & (cnt >= min_concentration * held) & (cnt >= min_presence * graph.degree[sig_k])
    # How tied a typical member is: its signals concentrated in its own community.
    n_own = np.bincount(a[mb][conc[inv]], minlength=graph.n_accounts)
    mem = np.flatnonzero(in_big)
    labels, _, med = group_quantile(n_own[mem], membership[mem], 0.5)
    median_own = np.zeros(k)
    median_own[labels] = med
    key = key[conc]
    sig_c, com_c = key // k, key % k  # sorted by signal
    la, ls = a[~mb], s[~mb]
    if not la.size or not key.size:
        return out, 0
    n_usable = np.bincount(la, minlength=graph.n_accounts)
    lo = np.searchsorted(sig_c, ls, side="left")
    hits = np.searchsorted(sig_c, ls, side="right") - lo
    rep = np.repeat(np.arange(la.size), hits)
    if not rep.size:
        return out, 0
    idx = lo[rep] + np.arange(rep.size) - np.repeat(np.cumsum(hits) - hits, hits)
    pair, _, n_shared = unique_inverse(la[rep] * k + com_c[idx])
    acc, com = pair // k, pair % k
    order = lexsort((com, -n_shared, acc))
    acc, com, n_shared = acc[order], com[order], n_shared[order]
    best = np.r_[True, acc[1:] != acc[:-1]]
    acc, com, n_shared = acc[best], com[best], n_shared[best]
    ok = (
        (n_shared >= min_signals)
        & (n_shared >= min_share * n_usable[acc])
        & (n_shared >= min_strength * median_own[com])
    )
    out[acc[ok]] = com[ok]
    return out, int(ok.sum())
