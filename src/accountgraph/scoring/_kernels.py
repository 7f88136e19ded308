"""Compiled kernels of the infrastructure features: one hashing pass over the events each.

The infrastructure evidence (:mod:`._behaviour`) counts distinct keys over the events:
distinct (account, day, IP) triples, events per (cluster, IP), and the (cluster, IP,
minute) buckets used by two or more accounts. Done with numpy and pandas this took four
factorisations of event-sized int64 keys and as many event-sized temporaries: half the
score stage at 10M events. Here each is one pass over the events in time order through
an open-addressing hash table (linear probing, splitmix64 of the key, grown by doubling
so that it never exceeds half full) keyed by the *pair* (account, IP) or (cluster, IP).
For the exits the table holds one day's pairs and is emptied when the day changes (a
pair is new today when it is not in it): at seed scale about a million rows, where a
table of every pair ever seen held 32 million (1 GiB). For the concentration a
pair's minutes come as runs in time order, so the buckets are the run changes of each
pair, kept in the pair's own table row: a probe reads one cache line
(separate arrays indexed by a pair id cost a cache miss each; ``benchmarks/score_kernels.py``
times the passes, results in ``benchmarks/results/seed_scale_b125749.md``). The tables hold one row per
pair, far fewer than the events or triples.

Logs usually arrive in time order; other inputs are put in time order first by one
stable sort. Every output is a count per account or per cluster, so the result does not
depend on the order of the events or on the table's layout: the kernels give exactly the
numbers of the numpy formulation they replace (tests check this on shuffled inputs).

The module imports numba at import time and defines the kernels at module level (so that
numba's on-disk cache can key them); :mod:`._behaviour` imports it when first scoring.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._hashing import splitmix64

__all__ = ["block_top3_share", "exit_counts", "first_of_pair", "ip_concentration_counts"]

_MIN_CAP = 1 << 12


_mix = njit(inline="always")(splitmix64)


@njit(inline="always")
def _row_slot(table, key):  # type: ignore[no-untyped-def]
    """Row of ``key`` in a table keyed by its first column (-1: empty), or the empty row it would take."""
    mask = len(table) - 1
    s = np.int64(_mix(np.uint64(key)) & np.uint64(mask))
    while table[s, 0] >= 0 and table[s, 0] != key:
        s = (s + 1) & mask
    return s


@njit(inline="always")
def _keep_top3(top, r, v):  # type: ignore[no-untyped-def]
    """Insert ``v`` into row ``r`` of ``top``, its three largest values so far in descending order."""
    if v > top[r, 2]:
        if v > top[r, 0]:
            top[r, 2], top[r, 1], top[r, 0] = top[r, 1], top[r, 0], v
        elif v > top[r, 1]:
            top[r, 2], top[r, 1] = top[r, 1], v
        else:
            top[r, 2] = v


@njit(nogil=True, cache=True)
def _doubled(old):  # type: ignore[no-untyped-def]
    """The rows of a keyed table re-inserted into one of twice its capacity."""
    table = np.full((2 * len(old), old.shape[1]), -1, np.int64)
    for r in range(len(old)):
        if old[r, 0] >= 0:
            table[_row_slot(table, old[r, 0])] = old[r]
    return table


@njit(nogil=True, cache=True)
def _exits(acc, day, ip, n_acc, n_ip, cap):  # type: ignore[no-untyped-def]
    # The (account, ip) pairs of the current day, in a table emptied when the day changes:
    # the events are in day order, so a pair is new today exactly when it is not in the
    # table, and each distinct (account, day, ip) triple is counted once. The table holds
    # one day's pairs (about a million at seed scale), not the input's (tens of millions:
    # a table of 1 GiB). ``used`` lists the occupied rows, so emptying costs the day's
    # pairs, not the table. An account's event from the IP and on the day of its previous
    # event is not looked up: one row per account keeps that IP and day.
    per = np.empty((n_acc, 3), np.int64)
    per[:, 0], per[:, 1], per[:, 2] = -1, -1, 0
    table = np.full((cap, 1), -1, np.int64)
    used = np.empty(cap // 2 + 1, np.int64)
    n = 0
    today = day[0] if len(day) else 0
    for i in range(len(acc)):
        a = acc[i]
        if ip[i] == per[a, 0] and day[i] == per[a, 1]:
            continue
        per[a, 0], per[a, 1] = ip[i], day[i]
        if day[i] != today:  # a new day: empty the table
            for j in range(n):
                table[used[j], 0] = -1
            n = 0
            today = day[i]
        key = np.int64(a) * n_ip + ip[i]
        s = _row_slot(table, key)
        if table[s, 0] < 0:
            table[s, 0] = key
            used[n] = s
            n += 1
            per[a, 2] += 1
            if 2 * n >= len(table):  # grow: re-insert every row into a table twice the size
                table = _doubled(table)
                used = np.empty(len(table) // 2 + 1, np.int64)
                n = 0
                for r in range(len(table)):
                    if table[r, 0] >= 0:
                        used[n] = r
                        n += 1
    return per[:, 2].copy()


@njit(nogil=True, cache=True)
def _first_of_pair(a, b, n_a, n_b, cap):  # type: ignore[no-untyped-def]
    first = np.zeros(len(a), np.bool_)
    prev = np.full(n_a, -1, np.int64)
    table = np.full((cap, 1), -1, np.int64)
    n = 0
    for i in range(len(a)):
        x = a[i]
        if b[i] == prev[x]:  # the pair of x's previous event: seen
            continue
        prev[x] = b[i]
        key = np.int64(x) * n_b + b[i]
        s = _row_slot(table, key)
        if table[s, 0] < 0:
            table[s, 0] = key
            first[i] = True
            n += 1
            if 2 * n >= len(table):
                table = _doubled(table)
    return first


@njit(nogil=True, cache=True)
def _concentration(cl, by_account, acc, ip, t, div, lo, k, n_ip):  # type: ignore[no-untyped-def]
    # Event i's cluster is cl[acc[i]] (by_account; events of accounts in no cluster, cl < 0,
    # are skipped) or cl[i]; its minute is t[i] // div - lo.
    # One table row of three words per (cluster, ip), so a probe touches one cache line:
    # its key; its event count (high 32 bits) with the first account of its current
    # (cluster, ip, minute) bucket (bits 1-31) and whether another account used that bucket
    # (bit 0); the bucket's minute (high 32 bits) and its events so far. The events are in
    # time order, so a bucket is one run of the pair's events. The caller guarantees fewer
    # than 2**31 events and account codes, and minutes in [0, 2**31).
    total = np.zeros(k, np.int64)
    synced = np.zeros(k, np.int64)
    low = np.int64(0xFFFFFFFF)
    table = np.full((_MIN_CAP, 3), -1, np.int64)
    n = 0
    for i in range(len(acc)):
        c = cl[acc[i]] if by_account else cl[i]
        if c < 0:
            continue
        total[c] += 1
        key = np.int64(c) * n_ip + ip[i]
        s = _row_slot(table, key)
        if table[s, 0] < 0:
            table[s, 0], table[s, 1], table[s, 2] = key, 0, 0
            n += 1
            if 4 * n >= 3 * len(table):  # load 3/4: the table (11M rows at seed scale) is its largest array
                table = _doubled(table)
                s = _row_slot(table, key)
        minute = np.int64(t[i] // div - lo)
        who, when = table[s, 1], table[s, 2]
        run = when & low
        if run == 0 or minute != when >> 32:  # a new bucket: close the previous one
            if run > 0 and who & 1:
                synced[c] += run
            who, run = (who >> 32 << 32) | (np.int64(acc[i]) << 1), np.int64(0)
        elif np.int64(acc[i]) != (who & low) >> 1:
            who |= 1
        table[s, 1] = who + (np.int64(1) << 32)
        table[s, 2] = (minute << 32) | (run + 1)
    top = np.zeros((k, 3), np.int64)  # each cluster's three largest (cluster, ip) counts, descending
    for r in range(len(table)):
        if table[r, 0] < 0:
            continue
        x, c, who, run = table[r, 0] // n_ip, table[r, 1] >> 32, table[r, 1], table[r, 2] & low
        if run > 0 and who & 1:
            synced[x] += run
        _keep_top3(top, x, c)
    return total, top.sum(axis=1), synced


@njit(nogil=True, cache=True)
def _ordered(x):  # type: ignore[no-untyped-def]
    for i in range(1, len(x)):
        if x[i] < x[i - 1]:
            return False
    return True


def _in_time_order(t: np.ndarray, *cols: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(t, *cols)`` as given when ``t`` is non-decreasing, else permuted by a stable sort of ``t``."""
    if len(t) > 1 and not _ordered(t):
        order = np.argsort(t, kind="stable")
        return (t[order], *(c[order] for c in cols))
    return (t, *cols)


def exit_counts(acc: np.ndarray, day: np.ndarray, ip: np.ndarray, n_acc: int) -> np.ndarray:
    """Distinct (day, IP) pairs of each account: ``out[a]`` over the events of account ``a``.

    ``ip`` codes >= 0; int64 of length ``n_acc``. Events in time order (as logs usually are)
    take one pass; otherwise they are put in day order first by a stable sort.
    """
    n_ip = int(ip.max()) + 1 if len(ip) else 1
    day, acc, ip = _in_time_order(day, acc, ip)
    # a day's pairs: sized for one per account, grown by doubling (kept for the next days)
    cap = max(_MIN_CAP, 1 << max(0, int(n_acc).bit_length()))
    return _exits(acc, day, ip, int(n_acc), n_ip, cap)


def ip_concentration_counts(cl: np.ndarray, acc: np.ndarray, ip: np.ndarray, minute: np.ndarray,
                            k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cluster: events, events from its 3 busiest IPs, events in a shared (IP, minute).

    Over events with cluster ``cl`` (>= 0, < ``k``), account ``acc``, IP code ``ip`` (>= 0)
    and minute ``minute``: ``total[c]`` events; ``top3[c]`` the sum of the three largest
    event counts of the (``c``, IP) pairs; ``synced[c]`` the events whose (``c``, IP, minute)
    bucket holds events of two or more distinct accounts. All int64 of length ``k``.

    Events in time order (as logs usually are) take one pass; otherwise they are put in
    minute order first by a stable sort (the counts do not depend on the order).
    """
    n_ip = int(ip.max()) + 1 if len(ip) else 1
    if len(acc) and (len(acc) >= 2**31 or int(acc.max()) >= 2**31):  # packed in 31 and 32 bits
        raise ValueError("ip_concentration_counts takes fewer than 2**31 events and account codes")
    minute, cl, acc, ip = _in_time_order(minute, cl, acc, ip)
    if len(minute):
        lo, hi = int(minute[0]), int(minute[-1])
        if hi - lo >= 2**31:  # a span of four millennia: minute ranks (same buckets, same order)
            minute = np.unique(minute, return_inverse=True)[1].reshape(-1)
        elif lo != 0:
            minute = minute - lo  # int64 copy: the caller's array is not changed
    return _concentration(cl, False, acc, ip, minute, 1, 0, int(k), n_ip)


def ip_concentration_by_account(acc_cluster: np.ndarray, acc: np.ndarray, ip: np.ndarray, ts_s: np.ndarray,
                                k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`ip_concentration_counts` over the events of clustered accounts, read in place.

    ``acc_cluster`` per account (-1: none); ``acc``, ``ip`` (>= 0) and ``ts_s`` (UTC seconds) per
    event, all events. Events in time order are read where they lie, each event's cluster and
    minute found on the way (no copies of the clustered events: four event-sized arrays at seed
    scale); otherwise the clustered events are copied and :func:`ip_concentration_counts` sorts them.
    The same counts either way.
    """
    if len(acc) and (len(acc) >= 2**31 or int(acc.max()) >= 2**31):  # packed in 31 and 32 bits
        raise ValueError("ip_concentration_by_account takes fewer than 2**31 events and account codes")
    cl = np.asarray(acc_cluster)
    found, lo, hi = _clustered_minutes(cl, acc, ts_s) if len(ts_s) and _ordered(ts_s) else (False, 0, 0)
    if found and hi - lo < 2**31:
        n_ip = int(ip.max()) + 1 if len(ip) else 1
        return _concentration(cl, True, acc, ip, ts_s, 60, lo, int(k), n_ip)
    m = (cl >= 0)[acc]
    minute = ts_s[m] // 60
    return ip_concentration_counts(cl[acc[m]], acc[m], ip[m], minute, k)


@njit(nogil=True, cache=True)
def _clustered_minutes(cl, acc, ts_s):  # type: ignore[no-untyped-def]
    """``(any, first minute, last minute)`` of the clustered events (in time order)."""
    first = -1
    last = -1
    for i in range(len(acc)):
        if cl[acc[i]] >= 0:
            if first < 0:
                first = i
            last = i
    if first < 0:
        return False, np.int64(0), np.int64(0)
    return True, np.int64(ts_s[first] // 60), np.int64(ts_s[last] // 60)


def first_of_pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mask of the events that are the first of their distinct ``(a, b)`` pair (codes >= 0).

    ``bincount(b[first])`` counts the distinct ``a`` per ``b`` (e.g. users per template
    family) in one hashing pass, in any event order.

    Examples
    --------
    >>> first_of_pair(np.array([0, 0, 1, 0]), np.array([5, 5, 5, 6])).tolist()
    [True, False, True, True]
    """
    if not len(a):
        return np.zeros(0, bool)
    n_a, n_b = int(a.max()) + 1, int(b.max()) + 1
    cap = max(_MIN_CAP, 1 << max(0, (len(a) // 4).bit_length()))
    return _first_of_pair(a, b, n_a, n_b, cap)


@njit(nogil=True, cache=True)
def _block_top3(keep, rows, signal, account, a_local, block, n_events, n_nodes):  # type: ignore[no-untyped-def]
    """Per block: the events of its (block, signal) groups summed, and the three largest group sums."""
    run = np.zeros(n_nodes)  # one signal's events per block, reset after the signal
    touched = np.empty(n_nodes, np.int64)
    total = np.zeros(n_nodes)
    top = np.zeros((n_nodes, 3))
    seen = np.zeros(n_nodes, np.bool_)
    n_t = 0
    last = np.int64(-1)
    for i in range(len(rows) + 1):
        if i == len(rows) or (keep[i] and signal[rows[i]] != last):
            for j in range(n_t):  # close the previous signal's groups
                b = touched[j]
                v = run[b]
                run[b] = 0.0
                total[b] += v
                seen[b] = True
                _keep_top3(top, b, v)
            n_t = 0
            if i == len(rows):
                break
            if signal[rows[i]] < last:
                return total, top, seen, False  # not in signal order
            last = signal[rows[i]]
        if not keep[i]:
            continue
        r = rows[i]
        b = block[a_local[account[r]]]
        if run[b] == 0.0:
            touched[n_t] = b
            n_t += 1
        run[b] += n_events[r]
    return total, top, seen, True


def block_top3_share(keep: np.ndarray, rows: np.ndarray, signal: np.ndarray, account: np.ndarray,
                     a_local: np.ndarray, block: np.ndarray, n_events: np.ndarray,
                     n_nodes: int) -> np.ndarray | None:
    """Per block: the share of its events sent from its three busiest signals (NaN: none).

    Over the rows ``i`` with ``keep[i]``: incidence ``r = rows[i]`` (signal ``signal[r]``,
    account ``account[r]`` in block ``block[a_local[account[r]]]``, ``n_events[r]`` events,
    counts >= 0), grouped by (block, signal). One pass, no row-sized temporaries: the kept
    incidences must come in signal order (as the pipeline's :class:`~accountgraph.signals.SignalTable`
    holds them, ``rows`` ascending); ``None`` if they do not. Integer counts sum exactly in any
    order, so the shares equal the sort-based formulation's.
    """
    total, top, seen, ok = _block_top3(keep, rows, signal, account, a_local, block, n_events, int(n_nodes))
    if not ok:
        return None
    share = np.full(int(n_nodes), np.nan)
    top3 = top[:, 0] + top[:, 1] + top[:, 2]
    share[seen] = top3[seen] / np.maximum(total[seen], 1e-12)
    return share
