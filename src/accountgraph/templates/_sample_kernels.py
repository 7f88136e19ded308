"""Compiled pass of :func:`~accountgraph.templates.sample_per_account_window`.

Rows are visited in time order; the rows of one instant are one block, and a group's rows
in a block are kept or dropped together (:func:`block`), so which rows are kept does not
depend on row order. Kernels at module level, so that numba's on-disk cache can key them
(``tests/unit/test_numba_cache.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["visit"]


@njit(nogil=True, cache=True)
def _block(keep, rows, groups, seen, cap):  # type: ignore[no-untyped-def]
    # The rows of one instant: per group, all kept while they fit in the cap, or straddle it
    # by at most one more cap; none past that (a flood at one instant is not sampled).
    o = np.argsort(groups, kind="mergesort")
    i = 0
    while i < len(rows):
        g = groups[o[i]]
        e = i
        while e < len(rows) and groups[o[e]] == g:
            e += 1
        s = np.int64(seen[g])
        if s < cap:
            if s + (e - i) <= 2 * cap:
                for q in range(i, e):
                    keep[rows[o[q]]] = True
            seen[g] = min(s + (e - i), cap)
        i = e


@njit(nogil=True, cache=True)
def _cell(i, group_of, acc, win, a_min, w_min, n_acc):  # type: ignore[no-untyped-def]
    # a row's group: given, or its window-major (account, window) cell computed here
    if len(group_of):
        return group_of[i]
    return (win[i] - w_min) * n_acc + (acc[i] - a_min)


@njit(nogil=True, cache=True)
def visit(group_of, acc, win, a_min, w_min, n_acc, ts, order, cap, seen):  # type: ignore[no-untyped-def]
    """Mask of the kept rows, visiting rows in ``order`` (empty: as given, times non-decreasing).

    A row's group is ``group_of[i]``, or with ``group_of`` empty its (account, window) cell
    ``(win - w_min) * n_acc + acc - a_min``; ``seen`` counts the rows kept per group.
    """
    keep = np.zeros(len(ts), np.bool_)
    n = len(ts)
    j = 0
    while j < n:
        i = order[j] if len(order) else j
        e = j + 1
        while e < n and ts[order[e] if len(order) else e] == ts[i]:
            e += 1
        if e == j + 1:
            g = _cell(i, group_of, acc, win, a_min, w_min, n_acc)
            if seen[g] < cap:
                seen[g] += 1
                keep[i] = True
        else:
            rows = np.empty(e - j, np.int64)
            groups = np.empty(e - j, np.int64)
            for q in range(j, e):
                r = order[q] if len(order) else q
                rows[q - j] = r
                groups[q - j] = _cell(r, group_of, acc, win, a_min, w_min, n_acc)
            _block(keep, rows, groups, seen, cap)
        j = e
    return keep

