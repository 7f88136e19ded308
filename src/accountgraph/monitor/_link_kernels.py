"""Compiled loops of re-weighing the pair table and listing its links (numba; imported on first use).

Module-level functions, as in :mod:`._pair_kernels`: numba's on-disk cache cannot key a closure
that captures another compiled function (numba/numba#6264).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["pack_links", "reweigh_rows", "unpack_links"]


@njit(nogil=True, cache=True)
def row_weight(ev, u, v, r, counts, p, alpha, group, best,  # type: ignore[no-untyped-def]
               corr, c, near, subst, fam_count, degree):
    """Link weight of row ``r`` (pair ``u < v``): see :func:`._links.reweigh`. ``best`` is scratch."""
    best[:] = 0.0
    balance = counts.shape[0] > 0
    for t in range(ev.shape[1]):
        e = ev[r, t]
        if e == 0.0 or alpha[t] <= 0.0:
            continue
        if balance and t < counts.shape[1]:  # pair_balance, as the batch projection scales it
            a, b = np.float64(counts[u, t]), np.float64(counts[v, t])
            e = np.float32(e * min(1.0, np.sqrt(p * min(a, b) / max(max(a, b), 1.0))))
        x = alpha[t] * np.float32(-np.expm1(-np.float64(e)))
        if x > best[group[t]]:
            best[group[t]] = x
    total = np.float32(0.0)
    for g in range(len(best)):
        total += best[g]
    if corr and total >= near and subst[u, 0] >= 0 and subst[v, 0] >= 0:
        focus = 0.0  # the largest focus of a family substantial to both (shared_family_focus)
        for x in range(subst.shape[1]):
            f = subst[u, x]
            if f < 0:
                continue
            for y in range(subst.shape[1]):
                if subst[v, y] == f:
                    focus = max(focus, fam_count[f] / max(np.float64(degree[f]), 1.0))
        total += np.float32(c) * np.float32(focus)
    return total


@njit(nogil=True, cache=True)
def reweigh_rows(lo, hi, ev, key, link, touched, mark, any_mark, counts, p,  # type: ignore[no-untyped-def]
                 alpha, group, n_groups, corr, c, near, subst, fam_count, degree, cut, cut32, moved):
    """Re-weigh rows ``lo..hi-1`` that are touched or have a marked account; returns (rows, moved rows)."""
    best = np.zeros(n_groups, np.float32)
    n_rows = n_moved = 0
    for r in range(lo, hi):
        u, v = key[r] >> 32, key[r] & 0xFFFFFFFF
        if not (touched[r] or (any_mark and (mark[u] or mark[v]))):
            continue
        touched[r] = False
        old = np.float64(link[r])
        new = row_weight(ev, u, v, r, counts, p, alpha, group, best, corr, c, near, subst, fam_count, degree)
        link[r] = new
        n_rows += 1
        # as NumPy compared them: the old weight (as float64) with the cut, the new (float32) with its float32
        if ((old >= cut) != (new >= cut32)) or ((new >= cut32) and abs(np.float64(new) - old) > 1e-6):
            moved[u] = True  # threads only ever write True here: the result does not depend on their order
            moved[v] = True
            n_moved += 1
    return n_rows, n_moved


@njit(nogil=True, cache=True)
def pack_links(key, link, cut32, vbits, pbits, m):  # type: ignore[no-untyped-def]
    """The ``m`` rows at or above the cut as ``u << (vbits + pbits) | v << pbits | i`` (``i``: their rank
    in row order) and their weights in row order; sorting the first sorts the links by (u, v)."""
    packed = np.empty(m, np.int64)
    w = np.empty(m, np.float32)
    i = 0
    for r in range(len(link)):
        if link[r] >= cut32:
            u, v = key[r] >> 32, key[r] & 0xFFFFFFFF
            packed[i] = (u << (vbits + pbits)) | (v << pbits) | i
            w[i] = link[r]
            i += 1
    return packed, w


@njit(nogil=True, cache=True)
def unpack_links(packed, w, vbits, pbits):  # type: ignore[no-untyped-def]
    """Source, destination and weight (float64) of sorted :func:`pack_links` keys."""
    n = len(packed)
    src, dst, out = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.float64)
    vmask, pmask = (np.int64(1) << vbits) - 1, (np.int64(1) << pbits) - 1
    for i in range(n):
        k = packed[i]
        src[i] = k >> (vbits + pbits)
        dst[i] = (k >> pbits) & vmask
        out[i] = w[k & pmask]
    return src, dst, out
