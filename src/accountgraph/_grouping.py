"""Per-group order statistics by one sort: the shared helper of the communities and scoring stages.

Both stages need a quantile of some per-item value within each group (the
median strength of a community's members, the quartiles of a cluster's output
lengths) for up to millions of items and groups. One ``lexsort`` by
``(group, value)`` puts every group's values in order side by side; a group's
quantile is then one fancy index, with no loop over groups.

The quantile is the *lower nearest rank*: the value at 0-based rank
``floor(q * (n - 1))`` of the ``n`` sorted values, always one of the values
(never an interpolation). For ``q = 0.5`` it is the lower median.
"""

from __future__ import annotations

import numpy as np
from ._unique import lexsort

__all__ = ["group_quantile", "group_quantile_dense", "group_quantiles_int"]


def group_quantile(values: np.ndarray, groups: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower nearest-rank ``q``-quantile of ``values`` within each group.

    Parameters
    ----------
    values : ndarray of float or int, shape (n,)
        No NaN (NaN sorts last and would be picked as a high quantile).
    groups : ndarray of int, shape (n,)
        Group label of each value.
    q : float
        In [0, 1]; 0.5 gives the lower median, 0 the minimum, 1 the maximum.

    Returns
    -------
    labels : ndarray, shape (n_groups,)
        The distinct group labels, ascending.
    size : ndarray of int64, shape (n_groups,)
        Items per group.
    quantile : ndarray, shape (n_groups,)
        Per group, its sorted values at rank ``floor(q * (size - 1))``.

    Notes
    -----
    O(n log n) time (one ``lexsort``), O(n) memory.

    Examples
    --------
    >>> labels, size, med = group_quantile(np.array([5.0, 1.0, 3.0, 2.0, 4.0]), np.array([7, 7, 7, 2, 2]), 0.5)
    >>> labels.tolist(), size.tolist(), med.tolist()
    ([2, 7], [2, 3], [2.0, 3.0])
    """
    order = lexsort((values, groups))
    g = groups[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if g.size else np.zeros(0, np.int64)
    size = np.diff(np.r_[starts, g.size])
    rank = np.floor(q * (size - 1)).astype(np.int64)
    return g[starts], size, values[order][starts + rank]


def group_quantile_dense(values: np.ndarray, groups: np.ndarray, n_groups: int, q: float) -> np.ndarray:
    """:func:`group_quantile` for groups ``0 .. n_groups-1``, as a dense array (NaN for empty groups).

    Examples
    --------
    >>> group_quantile_dense(np.array([4.0, 1.0, 9.0]), np.array([2, 2, 0]), 3, 0.5).tolist()
    [9.0, nan, 1.0]
    """
    out = np.full(n_groups, np.nan)
    if len(values) == 0:
        return out
    labels, _, quantile = group_quantile(values, groups, q)
    out[labels] = quantile
    return out


def group_quantiles_int(values: np.ndarray, groups: np.ndarray, n_groups: int,
                        qs: tuple[float, ...]) -> list[np.ndarray]:
    """Several lower nearest-rank quantiles of non-negative integers per group, from one sort.

    ``values`` are clipped to ``[0, 2**31 - 1]`` and packed with their group into one int64 key,
    so one ``np.sort`` of plain integers replaces a ``lexsort`` per quantile. Groups are
    ``0 .. n_groups-1`` (NaN for empty groups), as in :func:`group_quantile_dense`, whose results
    this equals on such values.

    Examples
    --------
    >>> [q.tolist() for q in group_quantiles_int(np.array([4, 1, 9, 7]), np.array([2, 2, 0, 2]), 3, (0.5, 1.0))]
    [[9.0, nan, 4.0], [9.0, nan, 7.0]]
    """
    outs = [np.full(n_groups, np.nan) for _ in qs]
    if len(values) == 0:
        return outs
    key = groups.astype(np.int64)  # built and sorted in place: one value-sized int64 array
    key <<= 32
    kind, size = values.dtype.kind, values.dtype.itemsize
    if (kind == "u" and size < 4) or (kind == "i" and size <= 4 and int(values.min()) >= 0):
        key |= values  # within [0, 2**31) already (int32 as from Parquet): no clipped copy
    else:
        clipped = np.clip(values, 0, 2**31 - 1)
        key |= clipped if clipped.dtype.kind == "i" else clipped.astype(np.int64)
        del clipped
    key.sort()
    # the groups' runs in the sorted keys, from their sizes (no value-sized group array)
    size = np.bincount(groups, minlength=n_groups)
    present = np.flatnonzero(size)
    size = size[present]
    starts = np.cumsum(size) - size
    for out, q in zip(outs, qs):
        out[present] = (key[starts + np.floor(q * (size - 1)).astype(np.int64)] & 0xFFFFFFFF).astype(np.float64)
    return outs
