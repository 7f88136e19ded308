"""Links kept up to date by evidence deltas: an update costs its new incidences times their signals' reach.

The batch projection (:mod:`accountgraph.graph`) gives each shared signal a
per-pair evidence ``lambda = -log(1 - w(d))`` from its rarity ``w`` at degree
``d``, sums it per pair and type, and turns the sums into link weights. Here
the sums are kept (:class:`~._pairs.PairTable`) and an update adds only:

* for a signal that gained members: ``+lambda`` on the pairs each new member
  forms with the others; for one that lost members (horizon): ``-lambda`` on
  theirs;
* for a signal whose rarity weight drifted by more than :data:`DRIFT` since it was
  last applied, or whose projection mode changed (unshared, clique, sampled,
  hub): its old contribution is removed and the new one added over all its
  pairs.

So the cost of an update is about (new incidences) x (their signals' degree)
plus the rare full refreshes, not the size of the graph. The link weight of
every pair whose evidence changed is recomputed exactly as the batch does
(noisy-or per type, strongest type per evidence group, weighted sum, template
corroboration, ``min_link``).

Pair budget: as in the batch, signals are projected as cliques from the rarest
up while the cliques fit ``max_pairs``; past that degree they are *sampled*.
The batch samples with circulants over a member order, which a new member
reshuffles; the monitor partitions the members of a sampled signal into
``2**b`` hashed buckets of about ``k + 1`` accounts (``k`` as the batch
derives it from the budget) and projects cliques inside buckets, with the
evidence scaled by ``(d - 1) / (m - 1)`` (``m`` the bucket size) and clipped
like the batch's. A new member then only links to its bucket, and a bucket
splits in two when the degree doubles. The clique/sampled cut and ``k`` are
re-derived from the degree histogram each update but only moved when they
change by more than 10 %, so signals do not flip back and forth.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import numpy as np

from .._hashing import splitmix64
from ..engines import PipelineConfig
from ._links import refresh_substantial, reweigh
from ._pairs import PairTable
from ._policy import COORDINATED, policy, targets, type_weights
from ._keys import rows_of
from ._state import State, unpack
from .._unique import lexsort, search, unique

__all__ = ["DRIFT", "relink", "rebuild_links"]

logger = logging.getLogger(__name__)

#: Largest drift of a signal's rarity weight (``1 - exp(-lambda)``, its share of a link's noisy-or)
#: left unapplied; a link weight is then off by at most ``alpha * DRIFT`` per drifted signal. 0.02 was
#: measured too loose: on tuning world ``random --seed 1001 --scale 0.05`` fed daily, agreement with
#: ``detect`` (F1 of the flagged sets) was 0.23 at 0.02, 0.90 at 0.01 and 0.90 with exact evidence.
DRIFT = 0.01
#: Pairs a drift refresh may touch per event of the batch (larger drifts first; past 3 x DRIFT
#: always), at least :data:`MIN_REFRESH`. A floor of 200,000 was measured too low: on tuning world
#: ``random --seed 1001 --scale 0.05`` (6,000 events a day) agreement with ``detect`` fell from 0.90
#: to 0.23; 2,000,000 (about a second of work) restores it.
REFRESH_PER_EVENT = 4
MIN_REFRESH = 2_000_000
#: Room past the expected pairs when a reopened state's table is sized. An update appends its new
#: pairs before it compacts the ones it emptied: at seed scale (54M pairs, day 7) 10 % of room was
#: outgrown, and growing copied the table into buffers half again as large (5.5 s, 1.2 GB kept to
#: the end of the update). 20 % still fits the index of 10 % (2**27 slots for 54M pairs).
REOPEN_SLACK = 0.2
#: Pairs per chunk of signals: the compiled pass applies them without materialising them (only
#: the chunk's members are held, a few bytes per pair at most).
CHUNK_PAIRS = 64_000_000
#: Bits of a packed link (two ends and a rank) sorted by :func:`_edges` (past them, a lexsort).
_PACK_BITS = 63
_SHIFT = 16  # group key = signal << 16 | partition << 15 | bucket
_PART2 = np.int64(1 << 15)


def _members(state: State, sig: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Current members of the given signals: ``(signal, account)`` sorted by signal then account."""
    s, a = unpack(state.sig_key[rows_of(state.sig_key, sig)])
    return s, a


class _Groups(NamedTuple):
    """Members laid out by group (signal, partition, bucket), sorted by (group, account)."""

    g: np.ndarray      # group key
    a: np.ndarray      # account
    o: np.ndarray      # index of the member in the input arrays
    b1: np.ndarray     # the member's bucket in the first partition
    p2: np.ndarray     # whether the group belongs to the second (staggered) partition


def _groups(s: np.ndarray, a: np.ndarray, logb: np.ndarray, mode: np.ndarray, seed: int) -> _Groups:
    """Lay out members of signals for pair generation.

    A clique signal is one group. A sampled signal's members are put on a circle by a hash of
    (account, signal) — of (account) alone for coordinated hubs, so that accounts sharing several
    of them sit together in each — and cut into ``2**logb`` arcs twice, the second cut shifted by
    half an arc: each member links to its arc-mates in both, the union of the arcs is connected
    (as the batch's circulants are), and a pair in the same arc of both cuts counts once.
    """
    salt = np.where(mode == COORDINATED, np.uint64(0xC0FFEE), s.astype(np.uint64))
    with np.errstate(over="ignore"):
        h = splitmix64(a.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) ^ splitmix64(salt + np.uint64(seed)))
        b = logb.astype(np.uint64)
        cut = b > 0
        shift = np.uint64(64) - np.maximum(b, np.uint64(1))
        b1 = np.where(cut, h >> shift, np.uint64(0)).astype(np.int64)
        half = np.where(cut, np.uint64(1) << (np.uint64(63) - np.maximum(b, np.uint64(1))), np.uint64(0))
        b2 = ((h + half) >> shift).astype(np.int64)
    base = s.astype(np.int64) << _SHIFT
    idx2 = np.flatnonzero(cut)
    g = np.r_[base | b1, base[idx2] | _PART2 | b2[idx2]]
    acc = np.r_[a, a[idx2]]
    src = np.r_[np.arange(len(a)), idx2]
    o = _group_order(s, a, acc, g, idx2)
    p2 = np.r_[np.zeros(len(a), bool), np.ones(len(idx2), bool)]
    return _Groups(g[o], acc[o], src[o], b1[src[o]], p2[o])


def _group_order(s: np.ndarray, a: np.ndarray, acc: np.ndarray, g: np.ndarray, idx2: np.ndarray) -> np.ndarray:
    """``np.lexsort((acc, g))`` of :func:`_groups`' elements, through one packed sort when it can.

    Members arrive sorted by (signal, account) (the callers read them so) and the second cut's
    copies are appended in the same order, so a stable sort by group alone keeps each group's
    accounts in order; the group key is first made dense (signal rank, cut, bucket) so that it
    and the row position fit one 64-bit sort (:func:`~accountgraph._unique.lexsort`).
    """
    if len(s) < 2 or not (((s[1:] > s[:-1]) | ((s[1:] == s[:-1]) & (a[1:] > a[:-1]))).all()):
        return lexsort((acc, g))
    rank = np.zeros(len(s), np.int64)
    np.cumsum(s[1:] != s[:-1], out=rank[1:])
    low = g & (_PART2 - 1)
    bits = int(low.max()).bit_length()
    dense = (np.r_[rank, rank[idx2]] << (bits + 1)) | (((g & _PART2) > 0).astype(np.int64) << bits) | low
    return lexsort((dense,))


def _emit(table: PairTable, state: State, gr: _Groups, lam_by_sig: np.ndarray, sign: float) -> int:
    """Add ``sign * lambda`` of each group's signal to all its pairs."""
    sig = gr.g >> _SHIFT
    return table.add_groups(gr.g, gr.a, gr.p2, gr.b1, np.zeros(len(sig), np.int8), state.sig_type[sig],
                            np.zeros(len(sig)), sign * lam_by_sig[sig])


def _chunks(sig: np.ndarray, weight: np.ndarray) -> list[np.ndarray]:
    """Split signals so each chunk generates about :data:`CHUNK_PAIRS` pairs."""
    if not len(sig):
        return []
    cum = np.cumsum(weight)
    cut = np.searchsorted(cum, np.arange(CHUNK_PAIRS, cum[-1], CHUNK_PAIRS))
    return [c for c in np.split(sig, unique(cut)) if len(c)]


def _old_members(state: State, sig: np.ndarray, new: np.ndarray, dead: np.ndarray):
    """Members of ``sig`` before this update: current ones minus the new, plus the departed; sorted.

    ``new`` and ``dead`` are the sorted keys of the incidences added and removed, at least those
    of ``sig`` (:func:`_keys_of`).
    """
    s, a = _members(state, sig)
    k = (s << 32) | a
    k = k[~_isin_sorted(k, new)]
    return unpack(np.sort(np.r_[k, _keys_of(dead, sig)]))


def _isin_sorted(x: np.ndarray, sorted_ref: np.ndarray) -> np.ndarray:
    if not len(sorted_ref) or not len(x):
        return np.zeros(len(x), bool)
    p = np.minimum(search(sorted_ref, x), len(sorted_ref) - 1)
    return sorted_ref[p] == x


def _keys_of(keys: np.ndarray, sig: np.ndarray) -> np.ndarray:
    """The keys (sorted ``signal << 32 | account``) whose signal is in ``sig``, in order.

    Only the keys between ``sig``'s smallest and largest signal are searched: a chunk of
    signals costs its own incidences, not the update's (at seed scale past the horizon, 552
    chunks each searching the whole day's added and expired keys took 30 s of a 171 s update,
    cProfile).
    """
    if not len(keys) or not len(sig):
        return keys[:0]
    sig = np.sort(sig)
    lo, hi = np.searchsorted(keys, [int(sig[0]) << 32, (int(sig[-1]) + 1) << 32])
    part = keys[lo:hi]
    return part[_isin_sorted(part >> 32, sig)]


def _with_departed(state: State, sig: np.ndarray, dead: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Current members of ``sig`` plus ``dead``, those the horizon just removed: ``(signal, account)`` sorted."""
    s, a = _members(state, sig)
    return unpack(np.sort(np.r_[(s << 32) | a, dead]))


def _drift(state: State, table: PairTable, sig: np.ndarray, lam_t: np.ndarray, new_key: np.ndarray,
           dead_key: np.ndarray, seed: int) -> list[int]:
    """Signals whose scheme is unchanged but whose evidence drifted: one pass over their pairs.

    A pair of two staying members gets ``lam_t - lam_a``, a pair with a new member ``lam_t``,
    a pair with a departed member ``-lam_a`` (a departed and a new member never formed one).
    """
    out = []
    d = state.degree[sig].astype(np.float64)
    for chunk in _chunks(sig, d * d / 2):
        dead = _keys_of(dead_key, chunk)
        s, a = _with_departed(state, chunk, dead)
        k = (s << 32) | a
        flag = _isin_sorted(k, _keys_of(new_key, chunk)).astype(np.int8) | (_isin_sorted(k, dead).astype(np.int8) << 1)
        gr = _groups(s, a, state.sig_logb[s], state.sig_mode[s], seed)
        sg = gr.g >> _SHIFT
        out.append(table.add_groups(gr.g, gr.a, gr.p2, gr.b1, flag[gr.o], state.sig_type[sg], state.sig_lam[sg],
                                    lam_t[sg]))
    return out


def _refresh(state: State, table: PairTable, sig: np.ndarray, target: tuple[np.ndarray, ...],
             new_key: np.ndarray, dead_key: np.ndarray, seed: int) -> list[int]:
    """Bring ``sig`` to their target projection: drift in one pass, a changed scheme by remove-then-add."""
    mode_t, logb_t, lam_t = target
    same = (mode_t[sig] == state.sig_mode[sig]) & (logb_t[sig] == state.sig_logb[sig])
    out = _drift(state, table, sig[same], lam_t, new_key, dead_key, seed)
    moved = sig[~same]
    d = state.degree[moved].astype(np.float64)
    for chunk in _chunks(moved, d * d):
        s, a = _old_members(state, chunk, _keys_of(new_key, chunk), dead_key)
        m = state.sig_mode[s] > 0
        gr = _groups(s[m], a[m], state.sig_logb[s[m]], state.sig_mode[s[m]], seed)
        out.append(_emit(table, state, gr, state.sig_lam, -1.0))
        s, a = _members(state, chunk)
        m = mode_t[s] > 0
        gr = _groups(s[m], a[m], logb_t[s[m]], mode_t[s[m]], seed)
        out.append(_emit(table, state, gr, lam_t, 1.0))
    state.sig_mode[sig], state.sig_logb[sig], state.sig_lam[sig] = mode_t[sig], logb_t[sig], lam_t[sig]
    return out


def _increment(state: State, table: PairTable, sig: np.ndarray, new_key: np.ndarray, dead_key: np.ndarray,
               seed: int) -> list[int]:
    """Pairs formed by the new members (+lambda) and left by the departed ones (-lambda), applied scheme.

    That is :func:`_drift` to the applied evidence itself: a pair of two staying members then
    changes by ``lambda - lambda = 0`` and is skipped before it is looked up.
    """
    return _drift(state, table, sig, state.sig_lam, new_key, dead_key, seed)


def _due(state: State, mode_t: np.ndarray, logb_t: np.ndarray, lam_t: np.ndarray, budget: float) -> np.ndarray:
    """Signals to bring to their target now.

    A changed scheme (mode, buckets) always; a drift of the rarity weight (``1 - exp(-lambda)``, the
    signal's share of a link's noisy-or, which bounds the link error) past :data:`DRIFT` largest
    first within ``budget`` pairs, and past ``3 * DRIFT`` always.
    """
    scheme = (mode_t != state.sig_mode) | ((mode_t >= 2) & (logb_t != state.sig_logb))
    drift = np.abs(np.expm1(-lam_t) - np.expm1(-state.sig_lam))
    cand = np.flatnonzero(~scheme & (drift > DRIFT))
    d = state.degree[cand].astype(np.float64)
    cost = np.where(state.sig_mode[cand] >= 2, d * (state.policy[2] + 1) / 2, d * d / 2)
    order = np.argsort(-drift[cand], kind="stable")
    within = np.zeros(len(cand), bool)
    within[order] = np.cumsum(cost[order]) <= budget
    out = scheme.copy()
    out[cand[within | (drift[cand] > 3 * DRIFT)]] = True
    return out


def relink(state: State, cfg: PipelineConfig, new_key: np.ndarray, dead_key: np.ndarray,
           corr_accounts: np.ndarray, n_events: int) -> tuple[np.ndarray, np.ndarray]:
    """Apply an update's incidence changes to the pair evidence and links.

    Returns the accounts whose links moved and the signals whose applied projection changed.

    Parameters
    ----------
    new_key, dead_key : ndarray of int64
        The (signal << 32 | account) keys of incidences the update added and removed, sorted.
    corr_accounts : ndarray of int64
        Accounts whose template counts changed (their substantial families are recomputed).
    n_events : int
        Events in the batch (sets the drift refresh budget).
    """
    policy(state, cfg)
    alpha = type_weights(state, cfg)
    table = state.pairs
    table.ensure_types(len(state.type_names))
    table.link_cut = cfg.graph.min_link  # a compaction inside the update keeps the links still to be seen falling
    every = np.arange(state.n_signals)
    target = targets(state, cfg, every, alpha)
    mode_t, logb_t, lam_t = target
    again = _due(state, mode_t, logb_t, lam_t, max(MIN_REFRESH, REFRESH_PER_EVENT * n_events))
    touched = unique(np.r_[new_key >> 32, dead_key >> 32])
    inc = touched[~again[touched] & (state.sig_mode[touched] > 0)]
    _refresh(state, table, np.flatnonzero(again), target, new_key, dead_key, cfg.seed)
    _increment(state, table, inc, new_key, dead_key, cfg.seed)
    dirty = refresh_substantial(state, cfg, corr_accounts)
    if cfg.graph.promiscuity > 0:
        # an account that gained or lost signals of a type rebalances every pair it is in (filtering
        # the pairs whose balance factor actually moved was measured slower at seed scale: there the
        # accounts with new template families already cover nearly every pair)
        dirty = np.r_[dirty, unpack(new_key)[1], unpack(dead_key)[1]]
    region, n_rows, n_moved = _reweigh(state, cfg, alpha, dirty)
    cut = cfg.graph.min_link
    table.drop_empty()
    table.fit()
    _edges(state, cut)
    refreshed = np.flatnonzero(again)
    logger.info("monitor links: %d signals refreshed, %d grown/shrunk, %d pairs changed, %d links moved, %d pairs, "
                "%d links", len(refreshed), len(inc), n_rows, n_moved, len(table), len(state.e_src))
    return region, refreshed


def _reweigh(state: State, cfg: PipelineConfig, alpha: np.ndarray, dirty: np.ndarray) -> tuple[np.ndarray, int, int]:
    """New link weights of the touched rows and of every row of a ``dirty`` account (:func:`._links.reweigh`).

    Returns the accounts one of whose links moved (crossed ``min_link``, or changed above it), the
    rows re-weighed and the rows that moved.
    """
    mark = np.zeros(state.n_accounts, bool)
    mark[dirty] = True
    moved, n_rows, n_moved = reweigh(state, cfg, alpha, mark)
    return np.flatnonzero(moved), n_rows, n_moved


def _edges(state: State, cut: float) -> None:
    """The links (pairs at or above ``cut``), sorted by key: the table's rows are in insertion order.

    The two ends and the link's rank are packed into one int64 and sorted (one compiled pass to
    pack, one to unpack); past 63 bits (more than about 2**19 accounts with 2**25 links), a lexsort.
    """
    from ._link_kernels import pack_links, unpack_links

    t = state.pairs
    vbits = max(int(state.n_accounts) - 1, 0).bit_length()
    n_links = int(np.count_nonzero(t.link >= np.float32(cut)))
    pbits = max(n_links - 1, 0).bit_length()
    if 2 * vbits + pbits <= _PACK_BITS:
        packed, w = pack_links(t.key, t.link, np.float32(cut), vbits, pbits, n_links)
        packed.sort()
        state.e_src, state.e_dst, state.e_w = unpack_links(packed, w, vbits, pbits)
        return
    e = np.flatnonzero(t.link >= cut)
    u, v = unpack(t.key[e])
    o = lexsort((v, u))  # keys are distinct: the order of np.argsort(key)
    e = e[o]
    state.e_src, state.e_dst = u[o], v[o]
    state.e_w = t.link[e].astype(np.float64)


def rebuild_links(state: State, cfg: PipelineConfig, expect_pairs: int = 0) -> None:
    """Recompute every pair's evidence from the incidences and each signal's applied projection (on reopen).

    ``expect_pairs`` (the pairs the state held when it was written) sizes the table once: grown
    from empty, the copies and re-indexing of about 25 growth steps took a third of reopening a
    seed-scale state.
    """
    alpha = type_weights(state, cfg)
    state.pairs = PairTable()
    state.pairs.ensure_types(len(state.type_names))
    if expect_pairs > 0:
        state.pairs.reserve(int(expect_pairs * (1.0 + REOPEN_SLACK)))
    sig = np.flatnonzero(state.sig_mode > 0)
    d = state.degree[sig].astype(np.float64)
    for chunk in _chunks(sig, d * d):
        s, a = _members(state, chunk)
        gr = _groups(s, a, state.sig_logb[s], state.sig_mode[s], cfg.seed)
        _emit(state.pairs, state, gr, state.sig_lam, 1.0)
    state.fam_count = np.bincount(state.subst[state.subst >= 0], minlength=state.n_signals).astype(np.int64)
    state.pairs.touched[:] = True
    _reweigh(state, cfg, alpha, np.zeros(0, np.int64))
    state.pairs.drop_empty()
    state.pairs.fit()
    _edges(state, cfg.graph.min_link)
