"""Graph building: project the weighted signals to an account–account graph.

Stage 3 of the pipeline. Input: the bipartite account–signal incidence
(:class:`~accountgraph._signals.SignalTable`). Output: a weighted account–account
graph in which an edge means "these two accounts share enough rare signals to
be linked".

:func:`build_graph` runs in three steps, each in its own module:

1. weighting (:mod:`._weights`): rarity weight ``w(d)`` of each signal, hub cap,
   per-type weights and evidence groups;
2. the pair budget (:mod:`._budget`): which signals are projected as full
   cliques, which as sparse random circulants, which are left out;
3. projection (here): per-type noisy-or evidence through sparse products,
   summed over evidence groups, plus template corroboration
   (:mod:`._corroboration`), then the ``min_link`` cut.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._parallel import n_workers
from .._progress import task
from ..signals import SignalTable
from ._budget import _signal_status
from ._clique import clique_projection
from ._budget import circulant_pairs as circulant_pairs  # re-exported: tests import it from here
from ._corroboration import shared_family_focus
from ._corroboration import substantial_families as substantial_families  # re-exported
from ._params import GraphParams
from ._weights import DEFAULT_TYPE_WEIGHTS, EVIDENCE_GROUPS, HUB, LINKED, SAMPLED, _evidence, _type_weight, rarity_weight
from ._hubs import coordinated_hubs
from ._weights import type_caps
from ._weights import OVER_BUDGET as OVER_BUDGET  # re-exported
from ._weights import STATUS_NAMES as STATUS_NAMES  # re-exported
from ._weights import UNSHARED as UNSHARED  # re-exported
from .._unique import lexsort

__all__ = ["AccountGraph", "build_graph", "project"]

logger = logging.getLogger(__name__)


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
    type_caps : dict of str to float
        The hub cap of each signal type (at most ``cap``; lowered where the typical account
        would meet many strangers through the type, see :func:`~._weights.type_caps`).
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
    type_caps: dict[str, float] = field(default_factory=dict)

    @property
    def n_edges(self) -> int:
        return len(self.src)


def build_graph(
    sig: SignalTable,
    n_accounts: int,
    params: GraphParams | None = None,
    *,
    substantial: np.ndarray | None = None,
    focus: np.ndarray | None = None,
    node_key: np.ndarray | None = None,
    seed: int = 0,
    **overrides: Any,
) -> AccountGraph:
    """Weight signals and project them to an account–account graph.

    Parameters
    ----------
    sig : SignalTable
    n_accounts : int
    params : GraphParams, optional
        Hub cap, pair budget, ``min_link``, type weights, corroboration and
        sampling (see :class:`GraphParams`); defaults if omitted.
    substantial : ndarray of int64, shape (n_accounts, k), optional
        Each account's substantial template families (-1 padded).
    focus : ndarray of float64, optional
        Per family, the share of its users for whom it is substantial.
    node_key : ndarray of int64, optional
        Name-independent rank of each account (first activity, volume); orders
        the members of sampled signals, so that renaming accounts does not
        change which pairs are sampled. Defaults to the account index.
    seed : int
        Seed of the member order of sampled signals.
    **overrides
        Fields of :class:`GraphParams` that replace those of ``params``
        (``build_graph(sig, n, max_pairs=50)``), validated the same way.

    Returns
    -------
    AccountGraph

    Raises
    ------
    InvalidParameterError
        If an override is not a :class:`GraphParams` field or is out of range.

    Notes
    -----
    Time is dominated by sparse products ``B_t B_t^T`` per signal type, linear
    in the number of projected pairs; peak memory O(2 * max_pairs + incidences).
    """
    p = GraphParams() if params is None else params
    if overrides:
        p = p.replace(**overrides)
    return project(sig, n_accounts, p, lambda: (substantial, focus), node_key=node_key, seed=seed)


def project(sig: SignalTable, n_accounts: int, p: GraphParams,
            families: Callable[[], tuple[np.ndarray | None, np.ndarray | None]], *,
            node_key: np.ndarray | None = None, seed: int = 0) -> AccountGraph:
    """:func:`build_graph` with validated parameters and the template families given late.

    ``families()`` returns ``(substantial, focus)`` (or Nones) and is called once, after the
    projections, when the corroboration needs them: the pipeline computes them on another
    thread meanwhile (:func:`accountgraph._parallel.beside`).
    """
    n_sig = sig.n_signals
    degree = np.bincount(sig.signal, minlength=n_sig).astype(np.int64)
    cap = float(min(p.max_signal_degree, max(10.0, p.hub_share * n_accounts)))
    caps = _type_caps(sig, degree, cap, p)
    sig_cap = caps[sig.signal_type] if n_sig else np.zeros(0)
    status, n_linked, k_sig = _signal_status(degree, sig_cap, p.max_pairs, p.sample_neighbours)
    weight = np.zeros(n_sig, np.float64)
    used = (status == LINKED) | (status == SAMPLED)
    weight[used] = rarity_weight(degree[used], sig_cap[used])
    if node_key is None:
        node_key = np.arange(n_accounts, dtype=np.int64)
    common = _coordinate(sig, p, degree, status, k_sig, weight, n_accounts, node_key)

    per_group, n_pairs = _evidence_by_group(sig, n_accounts, p, degree, weight, status, k_sig, node_key, seed,
                                            common)
    substantial, focus = families()
    if per_group:
        src, dst, link = _links(per_group, p, substantial, focus)
    else:
        src = dst = np.zeros(0, np.int64)
        link = np.zeros(0, np.float64)
    logger.info(
        "graph: %d accounts, %d signals (%d linked, %d sampled, %d hubs), %d candidate pairs, %d edges >= %.2f",
        n_accounts, n_sig, n_linked, int((status == SAMPLED).sum()), int((status == HUB).sum()), n_pairs,
        len(src), p.min_link,
    )
    return AccountGraph(n_accounts, degree, weight, status, src, dst, link, cap, n_pairs,
                        {t: float(c) for t, c in zip(sig.type_names, caps)})


def _type_caps(sig: SignalTable, degree: np.ndarray, cap: float, p: GraphParams) -> np.ndarray:
    """The scale-aware hub cap of each signal type (:func:`~._weights.type_caps`), logged where lowered."""
    if not sig.n_signals:
        return np.zeros(len(sig.type_names))
    caps = type_caps(sig.signal_type[sig.signal], sig.account, degree[sig.signal], len(sig.type_names), cap,
                     p.max_cosharers, p.cosharers_min_accounts)
    for t, c in enumerate(caps):
        if c < cap:
            logger.info("graph: hub cap of %s lowered to %.0f (median account's co-sharers at the population's "
                        "degrees)", sig.type_names[t], c)
    return caps


def _coordinate(sig: SignalTable, p: GraphParams, degree: np.ndarray, status: np.ndarray, k_sig: np.ndarray,
                weight: np.ndarray, n_accounts: int, node_key: np.ndarray) -> np.ndarray:
    """Mark coordinated hubs SAMPLED (in place: status, k, weight); return the mask (:mod:`._hubs`).

    With ``coordinate_weak``, projected signals weighing less than ``coordinated_weight`` are
    tested (and count as companions) too, and those coordinated are projected as coordinated
    hubs are: onto circulants with the common member order, at the coordinated weight.
    """
    common = np.zeros(len(degree), bool)
    weak = np.zeros(len(degree), bool)
    if p.coordinate_weak:
        weak = ((status == LINKED) | (status == SAMPLED)) & (weight < p.coordinated_weight)
    if p.coordinated_weight <= 0 or not ((status == HUB) | weak).any():
        return common
    groups = sorted({EVIDENCE_GROUPS.get(t, t) for t in sig.type_names})
    type_group = np.array([groups.index(EVIDENCE_GROUPS.get(t, t)) for t in sig.type_names], np.int64)
    hub = (status == HUB) & (degree <= max(p.max_signal_degree, p.coordinated_max_share * n_accounts))
    lift = np.where(weak, p.coordinated_weak_lift, p.coordinated_min_lift)
    common = coordinated_hubs(sig.account, sig.signal, type_group[sig.signal_type], hub | weak, degree, n_accounts,
                              node_key, min_lift=lift)
    if (common & weak).any():
        logger.info("graph: %d weak signals are coordinated", int((common & weak).sum()))
    k = np.minimum(int(p.sample_neighbours), (degree[common] - 1) // 2)
    budget = max(int(p.max_pairs) // max(int(degree[common].sum()), 1), 1)
    k_sig[common] = np.minimum(k, budget)
    status[common] = SAMPLED
    weight[common] = p.coordinated_weight
    return common


def _evidence_by_group(
    sig: SignalTable, n_accounts: int, p: GraphParams, degree: np.ndarray, weight: np.ndarray,
    status: np.ndarray, k_sig: np.ndarray, node_key: np.ndarray, seed: int, common: np.ndarray | None = None,
) -> tuple[dict[str, list[sp.csr_matrix]], int]:
    """Per evidence group, the weighted noisy-or evidence matrices of its types; candidate pairs.

    The types are projected independently on a thread pool (the compiled kernels and scipy's
    sparse routines release the GIL), the type with most projected incidences first; the
    matrices are assembled in type order, as a single thread would.
    """
    weights = dict(DEFAULT_TYPE_WEIGHTS if p.type_weights is None else {**DEFAULT_TYPE_WEIGHTS, **p.type_weights})
    lam_clip = float(_evidence(np.clip(float(p.sample_clip), 0.0, 1.0)))
    inc_status = status[sig.signal]
    inc_type = sig.signal_type[sig.signal]
    projected = (inc_status == LINKED) | (inc_status == SAMPLED)
    proj_sig = (status == LINKED) | (status == SAMPLED)
    n_types = len(sig.type_names)

    def one(t: int) -> sp.csr_matrix | None:
        """Type ``t``'s weighted evidence matrix, or None."""
        alpha = _type_weight(sig.type_names[t], weights)
        of_type = inc_type == t
        if alpha <= 0 or not (projected & of_type).any():
            return None
        pm = _project_type(sig, of_type & projected, inc_status, n_accounts, degree, weight, k_sig, node_key, seed,
                           lam_clip, common)
        if pm is not None:
            _balance(pm, np.bincount(sig.account[of_type], minlength=n_accounts), p.promiscuity)
            d = pm.data  # alpha * -expm1(-x), in place (no pair-sized temporaries)
            np.negative(d, out=d)
            np.expm1(d, out=d)
            np.negative(d, out=d)
            d *= alpha
        return pm

    size = np.bincount(inc_type[projected], minlength=n_types)
    mats: dict[int, sp.csr_matrix | None] = {}
    with task("signals projected", total=int(np.count_nonzero(proj_sig)), unit="signals") as progress, \
            ThreadPoolExecutor(max_workers=min(n_workers(-1), 2), thread_name_prefix="accountgraph") as pool:
        futures = {pool.submit(one, t): t for t in sorted(range(n_types), key=lambda t: (-size[t], t))}
        for fut in as_completed(futures):
            t = futures[fut]
            mats[t] = fut.result()
            progress.update(int(np.count_nonzero(proj_sig & (sig.signal_type == t))))
    per_group: dict[str, list[sp.csr_matrix]] = {}
    n_pairs = 0
    for t, tname in enumerate(sig.type_names):
        pm = mats.pop(t)
        if pm is not None:
            n_pairs += pm.nnz
            per_group.setdefault(EVIDENCE_GROUPS.get(tname, tname), []).append(pm)
    return per_group, n_pairs


def _project_type(sig: SignalTable, sel: np.ndarray, inc_status: np.ndarray, n_accounts: int, degree: np.ndarray,
                  weight: np.ndarray, k_sig: np.ndarray, node_key: np.ndarray, seed: int,
                  lam_clip: float, common: np.ndarray | None = None) -> sp.csr_matrix | None:
    """Summed noisy-or evidence ``-log(1 - w)`` per account pair from the selected incidences of one type.

    Linked signals are projected as cliques (``triu(B B^T, 1)`` with ``B`` holding
    ``sqrt(lambda)`` per incidence, :mod:`._clique`), sampled ones as circulants; None if
    there are none. The caller applies the pair balance (:func:`_balance`).
    """
    m = sel & (inc_status == LINKED)
    ms = sel & (inc_status == SAMPLED)
    if not (m.any() or ms.any()):
        return None
    s_m, a_m = sig.signal[m], sig.account[m]
    pm = clique_projection(a_m, s_m, np.sqrt(_evidence(weight[s_m])), n_accounts)  # triu(B B^T, 1)
    del s_m, a_m
    if ms.any():
        # int32 codes where they fit: the pairs of the IP type (59M at seed scale) at 12 bytes each
        u, v, sid = circulant_pairs(_compact(sig.account[ms]), _compact(sig.signal[ms]), k_sig, node_key, seed,
                                    common)
        lam_s = _sampled_evidence(weight, degree, k_sig, lam_clip)[sid]
        del sid
        lo, hi = np.minimum(u, v), np.maximum(u, v, out=v)
        del u, v
        sampled = sp.coo_matrix((lam_s, (lo, hi)), shape=pm.shape)
        del lam_s, lo, hi
        sampled = sampled.tocsr()  # the pairs' arrays die here, before the sum
        pm = pm + sampled  # (also when pm is empty: the sum drops explicit zeros)
    return pm


def _compact(codes: np.ndarray) -> np.ndarray:
    """``codes`` as int32 when they fit (non-negative codes below 2**31), else as they are."""
    if codes.dtype == np.int32 or not len(codes) or int(codes.max()) >= 2**31:
        return codes
    return codes.astype(np.int32)


def _sampled_evidence(weight: np.ndarray, degree: np.ndarray, k_sig: np.ndarray, lam_clip: float) -> np.ndarray:
    """Evidence of one circulant link per signal: ``min(lambda(w) (d - 1) / 2k, clip)`` (0 where ``k = 0``).

    Per signal, then gathered per pair: the same float operations in the same order as per pair.
    """
    lam = np.zeros(len(weight), np.float64)
    s = np.flatnonzero(k_sig > 0)
    x = _evidence(weight[s])
    x *= degree[s] - 1
    x /= 2 * k_sig[s]
    np.minimum(x, lam_clip, out=x)
    lam[s] = x
    return lam


def _balance(pm: sp.csr_matrix, n: np.ndarray, promiscuity: float) -> None:
    """Scale each pair's evidence by ``min(1, sqrt(promiscuity * min(n_u, n_v) / max(n_u, n_v)))``, in place.

    ``n`` counts each account's signals of the type. An account that touches hundreds of
    fingerprints (spoofed per request) or exits (rotated per request) shares one of them with a
    person who has three by chance: that pair keeps a small share of its evidence. Two such
    accounts of one ring, rotating through the same pool, are balanced and keep all of it, as do
    two people with a handful each. 0 turns it off.
    """
    if promiscuity <= 0 or not pm.nnz:
        return
    # by runs of rows of about _BALANCE_CHUNK pairs: the row, count and float temporaries of
    # the whole matrix at once took ~2.5 GiB for the IP type's 55M pairs at seed scale
    cuts = np.unique(np.r_[0, np.searchsorted(pm.indptr, np.arange(0, pm.nnz, _BALANCE_CHUNK), side="right") - 1,
                           pm.shape[0]])
    for r0, r1 in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
        lo, hi = int(pm.indptr[r0]), int(pm.indptr[r1])
        rows = np.repeat(np.arange(r0, r1), np.diff(pm.indptr[r0:r1 + 1]))
        pm.data[lo:hi] *= pair_balance(n[rows], n[pm.indices[lo:hi]], promiscuity)


_BALANCE_CHUNK = 1 << 22


def pair_balance(n_u: np.ndarray, n_v: np.ndarray, promiscuity: float) -> np.ndarray:
    """``min(1, sqrt(promiscuity * min(n_u, n_v) / max(n_u, n_v)))``: the share of a type's evidence a pair keeps.

    ``n_u``, ``n_v`` count the two accounts' signals of the type (see :func:`_balance`); shared
    with the monitor, which applies it to summed pair evidence.
    """
    a, b = np.asarray(n_u, np.float64), np.asarray(n_v, np.float64)
    return np.minimum(1.0, np.sqrt(promiscuity * np.minimum(a, b) / np.maximum(np.maximum(a, b), 1.0)))


def _links(
    per_group: dict[str, list[sp.csr_matrix]], p: GraphParams, substantial: np.ndarray | None,
    focus: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum of the groups' strongest evidence, plus corroboration, cut at ``min_link``; sorted edges."""
    w = None
    for mats in per_group.values():
        g = mats[0]
        for other in mats[1:]:
            g = g.maximum(other)
        w = g if w is None else w + g
    w = w.tocoo()
    if substantial is not None and focus is not None and p.corroboration > 0 and w.nnz:
        w.data = w.data + p.corroboration * shared_family_focus(w.row, w.col, substantial, focus)
    keep = w.data >= p.min_link
    src, dst, link = w.row[keep].astype(np.int64), w.col[keep].astype(np.int64), w.data[keep]
    o = lexsort((dst, src))
    return src[o], dst[o], link[o]
