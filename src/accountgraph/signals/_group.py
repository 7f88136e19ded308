"""Distinct (account, value) pairs of tens of millions of events without hashing or sorting them.

The events are put in account order once (a counting sort, shared by every
signal type). Then, per type, one compiled pass over the values in that order
finds each account's distinct values with a "last account that saw this
value" marker and counts their events; a counting sort by value turns the
pairs into (value, account) order, the order of :class:`SignalTable`. Both
passes are linear and touch the events sequentially; random access is
confined to arrays the size of the value dictionary.

Cost per type: O(n_events + n_values + n_pairs) time, 16 bytes per value plus
12 per pair of memory.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

__all__ = ["AccountOrder", "account_order", "pair_counts"]


@functools.cache
def _compiled() -> Any:
    from numba import njit

    @njit(nogil=True, cache=True)
    def counting_order(acc, n_acc):  # type: ignore[no-untyped-def]
        start = np.zeros(n_acc + 1, np.int64)
        for i in range(len(acc)):
            start[acc[i] + 1] += 1
        for a in range(n_acc):
            start[a + 1] += start[a]
        fill = start[:-1].copy()
        order = np.empty(len(acc), np.int64)
        for i in range(len(acc)):  # stable: each account keeps its events in row order
            order[fill[acc[i]]] = i
            fill[acc[i]] += 1
        return order, start

    @njit(nogil=True, cache=True)
    def pairs(vals, start, n_vals):  # type: ignore[no-untyped-def]
        n_acc = len(start) - 1
        mark = np.full(n_vals, -1, np.int32)
        m = 0
        for a in range(n_acc):  # pass 1: pairs per account
            for j in range(start[a], start[a + 1]):
                v = vals[j]
                if v >= 0 and mark[v] != a:
                    mark[v] = a
                    m += 1
        out_a = np.empty(m, np.int32)
        out_v = np.empty(m, np.int32)
        out_c = np.zeros(m, np.int32)
        pos = np.empty(n_vals, np.int64)
        mark[:] = -1
        k = 0
        for a in range(n_acc):  # pass 2: each account's values in first-seen order, with counts
            for j in range(start[a], start[a + 1]):
                v = vals[j]
                if v < 0:
                    continue
                if mark[v] != a:
                    mark[v] = a
                    pos[v] = k
                    out_a[k] = a
                    out_v[k] = v
                    k += 1
                out_c[pos[v]] += 1
        # counting sort by value; stable, so accounts stay ascending within a value
        vstart = np.zeros(n_vals + 1, np.int64)
        for i in range(m):
            vstart[out_v[i] + 1] += 1
        for v in range(n_vals):
            vstart[v + 1] += vstart[v]
        sa = np.empty(m, np.int64)
        sv = np.empty(m, np.int64)
        sc = np.empty(m, np.int64)
        for i in range(m):
            p = vstart[out_v[i]]
            sa[p] = out_a[i]
            sv[p] = out_v[i]
            sc[p] = out_c[i]
            vstart[out_v[i]] += 1
        return sa, sv, sc

    return (counting_order, pairs)


class AccountOrder:
    """The events in account order: ``order`` (row numbers) and each account's ``start`` offset."""

    def __init__(self, order: np.ndarray, start: np.ndarray) -> None:
        self.order, self.start = order, start


def account_order(acc: np.ndarray, n_acc: int) -> AccountOrder:
    """Counting sort of rows by account code (stable), once for every signal type.

    Examples
    --------
    >>> o = account_order(np.array([2, 0, 2, 1]), 3)
    >>> o.order.tolist(), o.start.tolist()
    ([1, 3, 0, 2], [0, 1, 2, 4])
    """
    acc = np.asarray(acc) if np.asarray(acc).dtype.kind == "i" else np.asarray(acc, np.int64)
    if len(acc) and (int(acc.min()) < 0 or int(acc.max()) >= n_acc):  # the kernel does not check bounds
        raise ValueError(f"account codes must lie in [0, {n_acc}); got {int(acc.min())}..{int(acc.max())}")
    order, start = _compiled()[0](acc, int(n_acc))
    return AccountOrder(order, start)


def pair_counts(values: np.ndarray, by: AccountOrder, n_values: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (account, value) pairs of the rows and their row counts, sorted by (value, account).

    Parameters
    ----------
    values : ndarray of int, shape (n_rows,)
        Value code per row, ``0 .. n_values - 1``; negative: no value (skipped).
    by : AccountOrder
        The rows' account order (:func:`account_order`).
    n_values : int

    Returns
    -------
    account, value, count : ndarray of int64

    Examples
    --------
    >>> by = account_order(np.array([1, 0, 1, 1, 0]), 2)
    >>> [x.tolist() for x in pair_counts(np.array([3, 3, 0, 3, -1]), by, 4)]
    [[1, 0, 1], [0, 3, 3], [1, 1, 2]]
    """
    vals = np.asarray(values)[by.order]
    if len(vals) and int(vals.max()) >= n_values:  # the kernel does not check bounds
        raise ValueError(f"value codes must be below n_values={n_values}; got {int(vals.max())}")
    return _compiled()[1](vals, by.start, max(int(n_values), 1))
