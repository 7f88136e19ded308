"""Sorted distinct values by sorting, not hashing.

Since NumPy 2.3 a plain ``np.unique(x)`` (no ``return_*``) deduplicates with a
hash set before sorting; on millions of integers that is 15-40x slower than the
sort-based path it replaced (numpy/numpy#31969; measured here: 12M int64 keys,
15.6 s against 0.22 s). The monitor's daily update called it on every incidence
and signal key. :func:`unique` and :func:`union` are the sort-based equivalents
for 1-D numeric input; anything else goes to NumPy's sort path.

:func:`search` is ``np.searchsorted`` for many unsorted queries: each binary search
of a random key misses the cache at every step, while NumPy's search narrows each
search from the previous result when the queries are sorted. Sorting the queries
first is 5x faster on 8M keys into 20M (5.8 s against 1.2 s, the sort included).

:func:`unique_inverse` is ``np.unique(x, return_inverse=True, return_counts=True)``
through a hash table (the inverse without an argsort of every row).

:func:`lexsort` is ``np.lexsort`` for integer keys: when the keys' ranges and the row
position fit 63 bits together, they are packed into one integer and sorted with
``np.sort``, which NumPy runs with SIMD sorting networks (x86-simd-sort on AVX-512),
while ``np.lexsort`` and ``np.argsort`` move indices through comparison sorts. On 18M
rows of two 19-bit keys: 9.7 s (``np.lexsort``) against 0.5-1.7 s
(``benchmarks/monitor_kernels.py``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["counts_in_place", "factorize_sorted_values", "lexsort", "search", "union", "unique", "unique_inverse"]

#: Below this many queries :func:`search` searches them as given.
SORT_QUERIES = 1 << 15
#: Below this many rows :func:`lexsort` calls ``np.lexsort`` (packing would not pay).
PACK_MIN = 1 << 15


def unique(x: np.ndarray) -> np.ndarray:
    """``np.unique(x)`` for a 1-D array, sorted distinct values, through one sort.

    Examples
    --------
    >>> unique(np.array([3, 1, 3, 2, 1])).tolist()
    [1, 2, 3]
    """
    x = np.asarray(x)
    if x.ndim != 1 or x.dtype.kind not in "biu":
        return np.unique(x, return_counts=True)[0]  # the sort-based path (NaNs as np.unique treats them)
    s = np.sort(x)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def counts_in_place(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(x, return_counts=True)`` for a 1-D integer array that may be overwritten.

    ``x`` is sorted in place and its runs counted: no copy of ``x`` and no inverse (an
    event-sized key at seed scale is 0.3 GiB; ``np.unique`` copies it, and a hash
    factorisation adds an int64 code per row). ``x`` is left sorted.

    Examples
    --------
    >>> values, counts = counts_in_place(np.array([3, 1, 3, 2, 1]))
    >>> values.tolist(), counts.tolist()
    ([1, 2, 3], [2, 1, 2])
    """
    x.sort()
    new = np.empty(len(x), bool)
    new[:1] = True
    np.not_equal(x[1:], x[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    del new
    return x[starts], np.diff(np.r_[starts, len(x)])


def unique_inverse(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(x, return_inverse=True, return_counts=True)`` for a 1-D integer array.

    Through a hash table (``pandas.factorize(sort=True)``: the distinct values are sorted,
    not the rows) then ``np.bincount``; NumPy's inverse comes from an ``argsort`` of every
    row. On the 38M (signal, community) keys of a seed-scale attachment round (325k
    distinct): 3.4 s against 10.4 s. Other input goes to ``np.unique``.

    Examples
    --------
    >>> [v.tolist() for v in unique_inverse(np.array([7, 3, 7, 7]))]
    [[3, 7], [1, 0, 1, 1], [1, 3]]
    """
    x = np.asarray(x)
    if x.ndim != 1 or x.dtype.kind not in "iu" or len(x) < PACK_MIN:
        values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
        return values, inverse.reshape(-1), counts
    import pandas as pd

    codes, values = pd.factorize(x, sort=True)
    return np.asarray(values), codes.astype(np.intp, copy=False), np.bincount(codes, minlength=len(values))


def factorize_sorted_values(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, uniq)``: the sorted distinct values of a 1-D array and each row's index in them.

    What ``pandas.factorize(x, sort=True)`` returns (``np.unique(x, return_inverse=True)``
    reversed), through one ``argsort`` of the rows: for keys that are mostly distinct, such as
    the signature hashes of millions of prompts, sorting the rows beats hashing them and then
    sorting the distinct values (``benchmarks/results/seed_scale_b125749.md``). Equal values
    are adjacent after any sort, so the result does not depend on the sort's stability.

    Examples
    --------
    >>> [v.tolist() for v in factorize_sorted_values(np.array([7, 3, 7, 9], np.uint64))]
    [[1, 0, 1, 2], [3, 7, 9]]
    """
    x = np.asarray(x)
    if not len(x):
        return np.zeros(0, np.intp), x.copy()
    order = np.argsort(x)
    xs = x[order]
    new = np.empty(len(x), bool)
    new[0] = True
    np.not_equal(xs[1:], xs[:-1], out=new[1:])
    uniq = xs[new]
    del xs
    codes = np.empty(len(x), np.intp)
    codes[order] = np.cumsum(new) - 1
    return codes, uniq


def union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.union1d(a, b)`` through :func:`unique`."""
    return unique(np.concatenate([np.ravel(a), np.ravel(b)]))


def search(ref: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``np.searchsorted(ref, q)`` (left side) for a sorted ``ref``, the queries searched in sorted order.

    Examples
    --------
    >>> search(np.array([10, 20, 30]), np.array([25, 5, 30])).tolist()
    [2, 0, 2]
    """
    q = np.asarray(q)
    if q.ndim != 1 or len(q) < SORT_QUERIES:
        return np.searchsorted(ref, q)
    order = lexsort((q,)) if q.dtype.kind in "iu" else np.argsort(q)
    out = np.empty(len(q), np.intp)
    out[order] = np.searchsorted(ref, q[order])
    return out


def lexsort(keys: tuple | list) -> np.ndarray:
    """``np.lexsort(keys)`` (the last key primary; a stable order) for 1-D integer or bool keys.

    The keys, offset to start at 0, and the row position are packed into one int64 when
    their bits add up to at most 63, and that is sorted; the position, in the low bits,
    breaks ties, so the order is exactly ``np.lexsort``'s. Otherwise, or for other dtypes,
    ``np.lexsort`` itself. ``lexsort((k,))`` is ``np.argsort(k, kind="stable")``.

    Examples
    --------
    >>> lexsort((np.array([1, 0, 1, 0]), np.array([5, 5, 2, 2]))).tolist()
    [3, 2, 1, 0]
    """
    cols = [np.asarray(k) for k in keys]
    n = len(cols[0]) if cols else 0
    if (n < max(PACK_MIN, 2) or any(c.ndim != 1 or len(c) != n or c.dtype.kind not in "biu" for c in cols)
            or all(c.dtype.itemsize <= 2 for c in cols)  # NumPy radix-sorts those already
            or any(c.dtype == np.uint64 and int(c.max()) >= 1 << 63 for c in cols)):
        return np.lexsort(cols)
    spans = []
    total = (n - 1).bit_length()
    for c in cols:
        lo, hi = int(c.min()), int(c.max())
        spans.append((lo, (hi - lo).bit_length()))
        total += spans[-1][1]
    if total > 63:
        return np.lexsort(cols)
    packed = np.arange(n, dtype=np.int64)
    shift = (n - 1).bit_length()
    for c, (lo, bits) in zip(cols, spans):  # the first key is the least significant
        if bits:
            t = c.astype(np.int64)  # one row-sized temporary at a time
            t -= lo
            t <<= shift
            packed |= t
            del t
            shift += bits
    packed.sort()
    packed &= (1 << (n - 1).bit_length()) - 1
    return packed
