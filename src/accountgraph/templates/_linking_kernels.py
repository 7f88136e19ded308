"""The compiled kernels of :mod:`._linking` (union-find over shared band keys).

A module of its own, imported when first needed, so that numba is not imported with
the package and the kernels are defined at module level: numba's on-disk cache keys a
kernel by its module, and a kernel that calls another one defined in an enclosing
function (a closure) is recompiled in every process.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["link", "roots", "unite"]


@njit(inline="always")
def find(parent, x):  # type: ignore[no-untyped-def]
    r = x
    while parent[r] != r:
        r = parent[r]
    while parent[x] != r:  # path compression
        nxt = parent[x]
        parent[x] = r
        x = nxt
    return r


@njit(nogil=True, cache=True)
def link(keys, node, parent, bucket_bits):  # type: ignore[no-untyped-def]
    """Unite the holders of every shared key of one band (``parent``: the union-find, updated)."""
    n = len(keys)
    n_b = 1 << bucket_bits
    shift = np.uint64(64 - bucket_bits)
    bk = np.empty(n, np.uint64)
    bn = np.empty(n, np.int32)
    table_k = np.zeros(1 << 12, np.uint64)
    table_v = np.zeros(1 << 12, np.int32)
    start = np.zeros(n_b + 1, np.int64)
    for i in range(n):
        k = keys[i]
        if k != 0:
            start[np.int64(k >> shift) + 1] += 1
    for j in range(n_b):
        start[j + 1] += start[j]
    fill = start[:-1].copy()
    for i in range(n):  # stable: each bucket keeps row order
        k = keys[i]
        if k != 0:
            t = np.int64(k >> shift)
            bk[fill[t]] = k
            bn[fill[t]] = node[i]
            fill[t] += 1
    for j in range(n_b):
        lo, hi = start[j], start[j + 1]
        size = 16
        while size < 2 * (hi - lo):
            size *= 2
        if size > len(table_k):
            table_k = np.zeros(size, np.uint64)
            table_v = np.zeros(size, np.int32)
        mask = np.uint64(size - 1)
        table_k[:size] = 0
        for p in range(lo, hi):
            k = bk[p]
            s = (k * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40) & mask
            while table_k[s] != 0 and table_k[s] != k:
                s = (s + np.uint64(1)) & mask
            if table_k[s] == 0:  # first holder of the key
                table_k[s] = k
                table_v[s] = bn[p]
            else:
                a, c = find(parent, bn[p]), find(parent, table_v[s])
                if a < c:
                    parent[c] = a
                elif c < a:
                    parent[a] = c


@njit(nogil=True, cache=True)
def roots(parent):  # type: ignore[no-untyped-def]
    for x in range(len(parent)):
        parent[x] = find(parent, x)


@njit(nogil=True, cache=True)
def unite(parent, other):  # type: ignore[no-untyped-def]
    """Add the unions of another union-find over the same nodes (``other``) to ``parent``."""
    for x in range(len(other)):
        y = other[x]
        if y != x:
            a, c = find(parent, x), find(parent, y)
            if a < c:
                parent[c] = a
            elif c < a:
                parent[a] = c
