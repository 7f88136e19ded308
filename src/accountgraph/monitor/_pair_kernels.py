"""Compiled loops of the pair table's hash index and group pass (numba; imported on first use).

Module-level functions, not functions made by a factory: numba's on-disk cache cannot key a
closure that captures another compiled function (the captured dispatcher pickles differently
in every process, numba/numba#6264), so such a kernel was compiled again in every process
(seconds per update) and added a file to ``__pycache__`` each time. Here ``find`` and
``slot`` are globals of this module, which the cache handles.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["compact", "groups", "probe", "rebuild"]


@njit(nogil=True, cache=True, inline="always")
def slot(k, mask):  # type: ignore[no-untyped-def]
    x = np.uint64(k)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xFF51AFD7ED558CCD)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xC4CEB9FE1A85EC53)
    x ^= x >> np.uint64(33)
    return np.int64(x & np.uint64(mask))


@njit(nogil=True, cache=True, inline="always")
def find(slots, keys, k, n, insert):  # type: ignore[no-untyped-def]
    """Row of key ``k`` (-1: not held) and the row count; appended at row ``n`` when ``insert``."""
    mask = len(slots) - 1
    s = slot(k, mask)
    while True:
        r = slots[s]
        if r < 0:
            if not insert:
                return -1, n
            slots[s] = n
            keys[n] = k
            return n, n + 1
        if keys[r] == k:
            return r, n
        s = (s + 1) & mask


@njit(nogil=True, cache=True)
def probe(slots, keys, n, q, insert):  # type: ignore[no-untyped-def]
    """Row of each key of ``q`` and the new row count; a key not held is appended at row
    ``n, n + 1, ...`` when ``insert``, else gets -1."""
    rows = np.empty(len(q), np.int64)
    for i in range(len(q)):
        rows[i], n = find(slots, keys, q[i], n, insert)
    return rows, n


@njit(nogil=True, cache=True)
def rebuild(slots, keys, n):  # type: ignore[no-untyped-def]
    """Re-index the first ``n`` keys (every slot cleared first)."""
    mask = len(slots) - 1
    slots[:] = -1
    for r in range(n):
        s = slot(keys[r], mask)
        while slots[s] >= 0:
            s = (s + 1) & mask
        slots[s] = r


#: Pairs generated before they are looked up: the index and the rows are far larger than the
#: caches, so each lookup misses several times; a batch's slots, keys and evidence rows are
#: first read in independent loops (the misses overlap) and then applied in order.
BATCH = 1024


@njit(nogil=True, cache=True)
def _fill(group, acc, p2, b1, flag, typ, la, lt, at, bk, bv, bt, bw):  # type: ignore[no-untyped-def]
    """Up to ``BATCH`` pairs with a nonzero value from position ``at`` = (group start, group end,
    i, j) on (``at`` advanced past them): key, value, type and (group, i, j) to resume from."""
    m = len(group)
    g0, g1, i, j = at[0], at[1], at[2], at[3]
    nb = 0
    while nb < BATCH and g0 < m:
        if j >= g1:
            i += 1
            j = i + 1
            if i >= g1:  # the next group
                g0 = g1
                while g1 < m and group[g1] == group[g0]:
                    g1 += 1
                i = g0
                j = i + 1
            continue
        if not (p2[i] and b1[i] == b1[j]):  # else the pair was formed in the first cut already
            f = flag[i] | flag[j]
            if f & 2:
                val = 0.0 if f & 1 else -la[i]
            else:
                val = lt[i] if f & 1 else lt[i] - la[i]
            if val != 0.0:
                u, v = acc[i], acc[j]
                bk[nb] = (min(u, v) << 32) | max(u, v)
                bv[nb] = val
                bt[nb] = typ[i]
                bw[nb, 0], bw[nb, 1], bw[nb, 2] = g0, i, j
                nb += 1
        j += 1
    at[0], at[1], at[2], at[3] = g0, g1, i, j
    return nb


@njit(nogil=True, cache=True)
def _preload(slots, keys, ev, touched, bk, bt, nb, br, bs):  # type: ignore[no-untyped-def]
    """Row of each batch key found in its first slot (else -1), read in independent loops."""
    mask = len(slots) - 1
    for b in range(nb):  # the slots
        br[b] = slots[slot(bk[b], mask)]
    for b in range(nb):  # then the rows they point to
        r = br[b]
        if r >= 0:
            bs[b] = ev[r, bt[b]] + touched[r]  # kept, so the loads are not dropped
            if keys[r] != bk[b]:
                br[b] = -1  # not in the pair's first slot: looked up when applied


@njit(nogil=True, cache=True)
def groups(slots, keys, ev, link, touched, n, group, acc, p2, b1, flag, typ, la, lt, start, start_i, start_j,  # type: ignore[no-untyped-def]
           eps):
    """Add every in-group pair's value straight into the table, from pair ``(start_i, start_j)``
    of group ``start`` on (``start_i < 0``: from the group's first pair).

    Stops at the first new pair that would not fit the row buffers or would leave the index
    more than half full; returns ``(rows, group, i, j, pairs applied, rows emptied)``, the
    group and pair to resume from (group ``len(group)`` when done). Evidence at or below
    ``eps`` is none. Pairs are generated :data:`BATCH` at a time and their cache lines loaded
    before they are applied, in the same order as one by one.
    """
    m, nt = len(group), ev.shape[1]
    applied = emptied = 0
    bk, bt, br = np.empty(BATCH, np.int64), np.empty(BATCH, np.int64), np.empty(BATCH, np.int64)
    bv, bs = np.empty(BATCH, np.float64), np.empty(BATCH, np.float32)
    bw = np.empty((BATCH, 3), np.int64)
    g1 = start
    while g1 < m and group[g1] == group[start]:
        g1 += 1
    i = start_i if start_i >= 0 else start
    at = np.array([start, g1, i, start_j if start_i >= 0 else i + 1], np.int64)
    while True:
        nb = _fill(group, acc, p2, b1, flag, typ, la, lt, at, bk, bv, bt, bw)
        if nb == 0:
            break
        _preload(slots, keys, ev, touched, bk, bt, nb, br, bs)
        for b in range(nb):
            r = br[b]  # rows never move and slots only fill, so a row found above holds
            if r < 0:
                room = n < len(keys) and 2 * (n + 1) <= len(slots)
                r, grown = find(slots, keys, bk[b], n, room)
                if r < 0:  # a new pair and no room: grow, then resume at this pair
                    return n, bw[b, 0], bw[b, 1], bw[b, 2], applied, emptied
                if grown > n:  # appended rows start empty (compaction leaves stale tails)
                    ev[r, :] = 0.0
                    link[r] = 0.0
                    n = grown
            t = bt[b]
            was = ev[r, t]
            now = max(was + np.float32(bv[b]), np.float32(0.0))
            ev[r, t] = now
            touched[r] = True
            applied += 1
            if was > eps and now <= eps:
                empty = True
                for c in range(nt):
                    if ev[r, c] > eps:
                        empty = False
                        break
                emptied += empty
    return n, m, -1, -1, applied, emptied


@njit(nogil=True, cache=True)
def compact(keys, ev, link, touched, n, eps, keep):  # type: ignore[no-untyped-def]
    """Drop the rows with no evidence above ``eps`` in place, keeping the others' order, except
    touched rows whose link is at least ``keep`` (still to be re-weighed); returns the rows kept
    and how many of them are such empty rows."""
    w = 0
    pinned = 0
    for r in range(n):
        empty = True
        for c in range(ev.shape[1]):
            if ev[r, c] > eps:
                empty = False
                break
        if empty:
            if not (touched[r] and link[r] >= keep):
                continue
            pinned += 1
        if w != r:
            keys[w] = keys[r]
            ev[w, :] = ev[r, :]
            link[w] = link[r]
            touched[w] = touched[r]
        w += 1
    return w, pinned
