"""64-bit keys of pairs of codes: ``a << 32 | b`` (sorts by ``a``, then ``b``)."""

from __future__ import annotations

import numpy as np

__all__ = ["key_ranges", "pack", "rows_of", "unpack"]

_SHIFT = np.int64(32)
_MASK = np.int64(0xFFFFFFFF)


def pack(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a << 32 | b`` for codes below 2**31."""
    return (np.asarray(a, np.int64) << _SHIFT) | np.asarray(b, np.int64)


def unpack(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`pack`."""
    return key >> _SHIFT, key & _MASK


def key_ranges(keys: np.ndarray, heads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per head, the ``[lo, hi)`` rows of the sorted ``keys`` whose high half is that head."""
    heads = np.asarray(heads, np.int64)
    return np.searchsorted(keys, heads << _SHIFT), np.searchsorted(keys, (heads + 1) << _SHIFT)


def rows_of(keys: np.ndarray, heads: np.ndarray) -> np.ndarray:
    """Rows of the sorted ``keys`` whose ``a`` (high half) is in ``heads`` (sorted, distinct), in key order.

    Two binary searches per head and the rows themselves: the incidences of a hundred thousand
    accounts out of tens of millions, without unpacking every key.

    Examples
    --------
    >>> keys = pack(np.array([1, 1, 2, 5, 5]), np.array([3, 4, 0, 1, 2]))
    >>> rows_of(keys, np.array([1, 5])).tolist()
    [0, 1, 3, 4]
    """
    lo, hi = key_ranges(keys, heads)
    n = hi - lo
    return np.repeat(lo - np.r_[0, np.cumsum(n)[:-1]], n) + np.arange(int(n.sum()))
