"""Families from LSH band keys: union-find over "shares a band key", one compiled pass per band.

Two signatures sharing any band key belong to one family (a connected
component). For each band the keys are partitioned by their top bits into
buckets small enough for the cache (keys are uniform 64-bit hashes), and
inside each bucket a small hash table finds the first signature holding each
key; every other holder is united with it. Union by smaller index keeps every
component's root at its smallest member, which is the order families are
numbered in (the smallest signature hash first). No edge list, no sparse
matrix: memory is the keys plus two buffers of one band.

Cost: O(rows x bands) with two passes over each band's keys; about 0.1-0.2 s
per band of 10^7 keys on one core.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["band_families"]

_kernel: Any = None
_BUCKET_BITS = 12


def _compiled() -> Any:
    global _kernel
    if _kernel is not None:
        return _kernel
    from numba import njit

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
    def link(keys, node, n_nodes, bucket_bits):  # type: ignore[no-untyped-def]
        n, bands = keys.shape
        parent = np.arange(n_nodes).astype(np.int32)
        n_b = 1 << bucket_bits
        shift = np.uint64(64 - bucket_bits)
        bk = np.empty(n, np.uint64)
        bn = np.empty(n, np.int32)
        table_k = np.zeros(1 << 12, np.uint64)
        table_v = np.zeros(1 << 12, np.int32)
        for b in range(bands):
            start = np.zeros(n_b + 1, np.int64)
            for i in range(n):
                k = keys[i, b]
                if k != 0:
                    start[np.int64(k >> shift) + 1] += 1
            for j in range(n_b):
                start[j + 1] += start[j]
            fill = start[:-1].copy()
            for i in range(n):  # stable: each bucket keeps row order
                k = keys[i, b]
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
        for x in range(n_nodes):
            parent[x] = find(parent, x)
        return parent

    _kernel = link
    return link


def band_families(keys: np.ndarray, node: np.ndarray, n_nodes: int) -> np.ndarray:
    """Family of each node: nodes sharing a band key are one family, numbered by smallest member.

    Parameters
    ----------
    keys : ndarray of uint64, shape (rows, bands)
        Band keys of each row (0: band unused).
    node : ndarray of int, shape (rows,)
        Node (distinct signature) of each row, ``0 .. n_nodes - 1``.
    n_nodes : int

    Returns
    -------
    ndarray of int64, shape (n_nodes,)
        Family id per node: families ranked by their smallest node.

    Examples
    --------
    >>> keys = np.array([[5, 0], [7, 9], [5, 1], [8, 9]], np.uint64)
    >>> band_families(keys, np.array([0, 1, 2, 3]), 5).tolist()
    [0, 1, 0, 1, 2]
    """
    keys = np.ascontiguousarray(keys, np.uint64)
    root = _compiled()(keys, np.asarray(node, np.int32), int(n_nodes), _BUCKET_BITS)
    is_root = root == np.arange(n_nodes)
    rank = np.cumsum(is_root) - 1
    return rank[root].astype(np.int64)
