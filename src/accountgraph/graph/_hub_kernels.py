"""Compiled loops of the coordinated-hub test (numba; imported on first use by :mod:`._hubs`).

Module-level functions, not functions made by a factory: numba's on-disk cache cannot key a
closure that captures another compiled function (the captured dispatcher pickles differently
in every process, numba/numba#6264), so ``cross`` and ``union`` were compiled again in every
process that met a hub (about 10 s of each ``detect``) and added a file to ``__pycache__``
each time. Here ``room`` is a global of this module, which the cache handles.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["cross", "room", "union"]


@njit(nogil=True, cache=True)
def room(a, b, c, n, need):  # type: ignore[no-untyped-def]
    """Room for ``need`` more rows in three growable int64 output buffers (doubling)."""
    if n + need <= len(a):
        return a, b, c
    cap = max(2 * len(a), n + need)
    a2, b2, c2 = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int64)
    a2[:n], b2[:n], c2[:n] = a[:n], b[:n], c[:n]
    return a2, b2, c2


@njit(nogil=True, cache=True)
def cross(acc_start, acc_hub, acc_grp, block_end, s_acc, s_sig, group, n_sig):  # type: ignore[no-untyped-def]
    """Per hub, its sampled accounts holding each hub of another group: ``(hub, other, count)``."""
    cnt = np.zeros(n_sig, np.int64)
    touched = np.empty(n_sig, np.int64)
    n_t = 0
    oa, ob, oc = np.empty(1024, np.int64), np.empty(1024, np.int64), np.empty(1024, np.int64)
    n_out = 0
    r = 0
    while r < len(s_sig):
        h = s_sig[r]
        gh = group[h]
        while r < len(s_sig) and s_sig[r] == h:
            x = s_acc[r]
            p = acc_start[x]
            while p < acc_start[x + 1]:
                if acc_grp[p] == gh:  # same group, never counted: skip its whole block
                    p = block_end[p]
                    continue
                o = acc_hub[p]
                p += 1
                if cnt[o] == 0:
                    touched[n_t] = o
                    n_t += 1
                cnt[o] += 1
            r += 1
        row = np.sort(touched[:n_t])
        oa, ob, oc = room(oa, ob, oc, n_out, n_t)
        for o in row:
            oa[n_out], ob[n_out], oc[n_out] = h, o, cnt[o]
            n_out += 1
            cnt[o] = 0
        n_t = 0
    return oa[:n_out].copy(), ob[:n_out].copy(), oc[:n_out].copy()


@njit(nogil=True, cache=True)
def union(acc_start, acc_hub, acc_grp, block_end, s_acc, s_sig, group, n_sig, a_start, a_b, n_grp):  # type: ignore[no-untyped-def]
    """Per hub and other group, its sampled accounts holding one of its associated hubs."""
    mark = np.zeros(n_sig, np.bool_)
    seen = np.zeros(n_grp, np.bool_)
    cnt = np.zeros(n_grp, np.int64)
    oa, og, oc = np.empty(1024, np.int64), np.empty(1024, np.int64), np.empty(1024, np.int64)
    n_out = 0
    r = 0
    while r < len(s_sig):
        h = s_sig[r]
        gh = group[h]
        for q in range(a_start[h], a_start[h + 1]):
            mark[a_b[q]] = True
        while r < len(s_sig) and s_sig[r] == h:
            x = s_acc[r]
            p = acc_start[x]
            while p < acc_start[x + 1]:
                if acc_grp[p] == gh:
                    p = block_end[p]
                    continue
                if mark[acc_hub[p]] and not seen[acc_grp[p]]:
                    seen[acc_grp[p]] = True
                    cnt[acc_grp[p]] += 1
                p += 1
            seen[:] = False
            r += 1
        for q in range(a_start[h], a_start[h + 1]):
            mark[a_b[q]] = False
        oa, og, oc = room(oa, og, oc, n_out, n_grp)
        for g in range(n_grp):
            if cnt[g] > 0:
                oa[n_out], og[n_out], oc[n_out] = h, g, cnt[g]
                n_out += 1
                cnt[g] = 0
    return oa[:n_out].copy(), og[:n_out].copy(), oc[:n_out].copy()
