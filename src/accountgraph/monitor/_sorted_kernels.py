"""Edits of the state's sorted arrays in one compiled pass (numba; imported on first use).

The incidence and signal-key arrays (tens of millions of rows at seed scale) are kept sorted;
an update inserts its new keys at sorted positions and drops the expired ones.
``np.insert`` with an array of positions builds a mask and an index array of the output's
size per call; an update made six such calls over 56M rows (5.6 s of a 171 s update past the
horizon, cProfile). :func:`insert_at` copies the runs between positions instead, and
:func:`isin_sorted` walks two sorted arrays together instead of binary-searching each row.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["insert_at", "isin_sorted", "rows_of_type"]


@njit(nogil=True, cache=True)
def _insert(a, at, v, out):  # type: ignore[no-untyped-def]
    w = 0
    i = 0
    for j in range(len(at)):
        p = at[j]
        out[w:w + p - i] = a[i:p]
        w += p - i
        i = p
        out[w] = v[j]
        w += 1
    out[w:] = a[i:]


@njit(nogil=True, cache=True)
def _isin(x, ref, out):  # type: ignore[no-untyped-def]
    j = 0
    m = len(ref)
    for i in range(len(x)):
        while j < m and ref[j] < x[i]:
            j += 1
        out[i] = j < m and ref[j] == x[i]


@njit(nogil=True, cache=True)
def _typed_rows(keys, lo, hi, sig_type, t, out):  # type: ignore[no-untyped-def]
    w = 0
    for h in range(len(lo)):
        for r in range(lo[h], hi[h]):
            if sig_type[keys[r] & 0xFFFFFFFF] == t:
                out[w] = r
                w += 1
    return w


def rows_of_type(keys: np.ndarray, heads: np.ndarray, sig_type: np.ndarray, t: int) -> np.ndarray:
    """Rows of the sorted incidence keys (``account << 32 | signal``) of the accounts ``heads``
    (sorted, distinct) whose signal is of type ``t``, in key order.

    ``rows_of`` and a mask over its rows, in one pass: an account's template incidences are a
    few among the hundreds of addresses a rotating account collects.
    """
    from ._keys import key_ranges

    lo, hi = key_ranges(keys, heads)
    out = np.empty(int((hi - lo).sum()), np.int64)  # an upper bound: only the rows written are touched
    return out[:_typed_rows(keys, lo, hi, sig_type, int(t), out)]


def insert_at(a: np.ndarray, at: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.insert(a, at, values)`` for a 1-D ``a`` and positions ``at`` in non-decreasing order.

    Values at one position go in the order given, as ``np.insert`` puts them. Positions out of
    order fall back to ``np.insert`` itself.
    """
    at = np.asarray(at, np.int64)
    values = np.asarray(values).astype(a.dtype, copy=False)
    if a.ndim != 1 or len(at) != len(values) or (len(at) and (at[0] < 0 or at[-1] > len(a))) \
            or not (at[1:] >= at[:-1]).all():
        return np.insert(a, at, values)
    out = np.empty(len(a) + len(at), a.dtype)
    _insert(a, at, values, out)
    return out


def isin_sorted(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``np.isin(x, ref)`` for ``x`` and ``ref`` both sorted (ascending), in one merge pass."""
    out = np.empty(len(x), np.bool_)
    if not len(ref):
        out[:] = False
        return out
    _isin(np.ascontiguousarray(x), np.ascontiguousarray(ref, dtype=np.asarray(x).dtype), out)
    return out
