"""The pair budget: which signals are projected as cliques, which as sparse circulants.

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

import functools
import logging

from typing import Any

import numpy as np

from ._weights import HUB, LINKED, OVER_BUDGET, SAMPLED, UNSHARED
from .._unique import lexsort

__all__ = ["circulant_pairs"]

logger = logging.getLogger(__name__)


def _signal_status(
    degree: np.ndarray, cap: float, max_pairs: int, sample_neighbours: int
) -> tuple[np.ndarray, int, np.ndarray]:
    """Status of every signal under the hub cap and the pair budget.

    Returns
    -------
    status : ndarray of int8, shape (n_signals,)
        ``UNSHARED``, ``LINKED``, ``HUB``, ``OVER_BUDGET`` or ``SAMPLED``.
    n_linked : int
        Signals projected as full cliques.
    k_sig : ndarray of int64, shape (n_signals,)
        Circulant neighbours per member of each sampled signal (0 elsewhere).
    """
    n_sig = len(degree)
    status = np.full(n_sig, UNSHARED, np.int8)
    shared = degree >= 2
    status[shared & (degree > cap)] = HUB
    cand = np.flatnonzero(shared & (degree <= cap))
    pairs = degree[cand] * (degree[cand] - 1) // 2
    order = lexsort((cand, degree[cand]))
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
        _sample_over_budget(over, degree, max_pairs, sample_neighbours, status, k_sig)
    return status, len(kept), k_sig


def _sample_over_budget(over: np.ndarray, degree: np.ndarray, max_pairs: int, sample_neighbours: int,
                        status: np.ndarray, k_sig: np.ndarray) -> None:
    """Mark the signals past the budget ``OVER_BUDGET`` or ``SAMPLED`` and set their ``k`` (in place)."""
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


@functools.cache
def _segment_sort() -> Any:
    """Compiled stable sort of ``key`` inside each run of equal signals."""
    from numba import njit

    @njit(nogil=True, cache=True)
    def sort_runs(order, starts, key):  # type: ignore[no-untyped-def]
        for g in range(len(starts) - 1):
            lo, hi = starts[g], starts[g + 1]
            if hi - lo > 1:
                seg = order[lo:hi].copy()
                o = np.argsort(key[seg], kind="mergesort")
                order[lo:hi] = seg[o]
        return order

    return sort_runs


def _order_by_signal_then_key(signal: np.ndarray, key: np.ndarray) -> np.ndarray:
    """``np.lexsort((key, signal))``: by signal, then key, ties in input order.

    The incidences usually arrive sorted by signal (as a SignalTable holds them), so
    only each signal's members are sorted, in one compiled pass.
    """
    if len(signal) > 1 and not bool(np.all(signal[1:] >= signal[:-1])):
        order = np.argsort(signal, kind="stable")
    else:
        order = np.arange(len(signal))
    s = signal[order]
    starts = np.r_[np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if len(s) else np.zeros(0, np.int64), len(s)]
    return _segment_sort()(order.astype(np.int64, copy=False), starts.astype(np.int64, copy=False), key)


def circulant_pairs(
    account: np.ndarray, signal: np.ndarray, k_sig: np.ndarray, node_key: np.ndarray, seed: int,
    common: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse stand-in for the cliques of some signals: pairs ``(u, v, signal)``.

    The members of each signal are put in a seeded pseudo-random order that
    depends on ``node_key`` (not on account names or row order), and each is
    linked to the next ``k_sig[signal]`` members cyclically: ``d * k`` distinct
    pairs for a signal of degree ``d`` when ``k <= (d - 1) // 2``. Signals marked in
    ``common`` (a bool per signal) share one order, so accounts holding several of them
    are neighbours in each (coordinated hubs, :mod:`._hubs`).

    Examples
    --------
    >>> u, v, s = circulant_pairs(np.arange(5), np.zeros(5, np.int64), np.array([1]), np.arange(5), 0)
    >>> len(u), sorted(np.bincount(np.r_[u, v]).tolist())
    (5, [2, 2, 2, 2, 2])
    """
    from ._circulant_kernels import circulant_keys

    if common is None:
        c_of, c_idx = np.zeros(1, bool), np.zeros(len(signal), np.int64)
    elif isinstance(common, np.ndarray):
        c_of, c_idx = common.astype(bool, copy=False), signal
    else:  # a lookup (``common[ids]``), as the Spark engine passes
        c_of, c_idx = np.asarray(common[signal], bool), np.arange(len(signal))
    key = circulant_keys(account, signal, np.asarray(node_key, np.int64), c_of, c_idx, seed & 0xFFFFFFFF)
    del c_of, c_idx
    o = _order_by_signal_then_key(signal, key)
    del key
    acc = account[o]
    sid = signal[o]
    del o
    if isinstance(k_sig, np.ndarray):  # k read per signal in the kernel: no per-row array of k
        k_of, k_idx = k_sig.astype(np.int64, copy=False), sid
    else:  # a lookup (``k_sig[ids]``), as the Spark engine passes
        k_of, k_idx = np.asarray(k_sig[sid], np.int64), np.arange(len(sid))
    k_max = int(np.max(k_of, initial=0)) if len(sid) else 0  # an upper bound: rounds past the rows' own are empty
    if not k_max:
        e = np.zeros(0, np.int64)
        return e, e, e
    return _circulant_fill()(acc, sid, k_of, k_idx, k_max)


@functools.cache
def _circulant_fill() -> Any:
    """Compiled fill of the circulant pairs, round by round (all ``j = 1`` links, then ``j = 2``...).

    Rows ``(acc, sid)`` are sorted by signal, each signal's members in its circulant order; a row
    with ``k = max(k_of[k_idx[row]], 0)`` links to the next ``k`` members of its signal, cyclically.
    The pairs come out in the dtypes of ``acc`` and ``sid`` (int32 codes: 12 bytes a pair). Round ``j`` holds, in row
    order, the link to the ``j``-th next member of every row with ``k >= j``: one pass over the rows,
    each round filled at its own cursor (no round-sized index arrays).
    """
    from numba import njit

    @njit(nogil=True, cache=True)
    def fill(acc, sid, k_of, k_idx, k_max):  # type: ignore[no-untyped-def]
        n = len(sid)
        n_ge = np.zeros(k_max + 2, np.int64)
        for i in range(n):
            n_ge[max(k_of[k_idx[i]], 0)] += 1
        for j in range(k_max - 1, 0, -1):  # rows with k >= j
            n_ge[j] += n_ge[j + 1]
        cursor = np.zeros(k_max + 1, np.int64)
        for j in range(2, k_max + 1):
            cursor[j] = cursor[j - 1] + n_ge[j - 1]
        total = cursor[k_max] + n_ge[k_max]
        u, v, s = np.empty(total, acc.dtype), np.empty(total, acc.dtype), np.empty(total, sid.dtype)
        lo = 0
        while lo < n:
            hi = lo + 1
            while hi < n and sid[hi] == sid[lo]:
                hi += 1
            size = hi - lo
            k = max(k_of[k_idx[lo]], 0)
            for r in range(lo, hi):
                for j in range(1, k + 1):
                    q = cursor[j]
                    cursor[j] = q + 1
                    u[q], v[q], s[q] = acc[r], acc[lo + (r - lo + j) % size], sid[r]
            lo = hi
        return u, v, s

    return fill
