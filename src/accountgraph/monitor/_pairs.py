"""Account pairs and their evidence per signal type, kept between updates and changed by deltas.

The batch projection computes, for every pair of accounts sharing a
projectable signal and for every signal type ``t``, the evidence
``E_t(u, v) = sum_s lambda_s`` over the shared signals of that type, and from
it the link weight. ``E_t`` is a sum, so a monitor can keep it and add only
what an update changes: ``+lambda`` for the pairs a new member of a signal
forms, ``-lambda`` for those a departing member leaves, and, when a signal's
rarity weight has drifted, the difference over its pairs. This module holds
the pair table (sorted ``u << 32 | v`` keys with ``u < v``, one float32
column per signal type) and the vectorised generators of the pairs of groups
of accounts: all pairs, or the pairs a subset of members forms with the rest.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import numpy as np

from ._keys import pack

__all__ = ["PairTable", "all_pairs", "member_pairs"]

_TYPE_BITS = np.int64(4)
_TYPE_MASK = np.int64(15)
#: Queued evidence changes merged at once (bounds the memory of a large refresh).
FLUSH_CELLS = 20_000_000
#: Evidence at or below this is none (float32 sums of +lambda and -lambda leave residues).
EMPTY = 1e-5
#: Most signal types a pair table holds (evidence cells are keyed ``pair << 4 | type``).
MAX_TYPES = 16


def _layout(group: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For elements sorted by group: each group's start and size, and each element's position in its group."""
    n = len(group)
    if not n:
        e = np.zeros(0, np.int64)
        return e, e, e
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sizes = np.diff(np.r_[starts, n])
    pos = np.arange(n) - np.repeat(starts, sizes)
    return starts, sizes, pos


def all_pairs(group: np.ndarray, acc: np.ndarray, both: bool = False) -> tuple[np.ndarray, ...]:
    """Every pair inside each group: ``(pair keys, element index of its first member[, of its second])``.

    ``group`` and ``acc`` are sorted by group; ``sum d (d - 1) / 2`` pairs.
    """
    starts, sizes, pos = _layout(group)
    if not len(acc):
        e = np.zeros(0, np.int64)
        return (e, e, e) if both else (e, e)
    size_of = np.repeat(sizes, sizes)
    cnt = size_of - 1 - pos
    i = np.repeat(np.arange(len(acc)), cnt)
    j = i + 1 + (np.arange(len(i)) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    a, b = acc[i], acc[j]
    key = pack(np.minimum(a, b), np.maximum(a, b))
    return (key, i, j) if both else (key, i)


def member_pairs(group: np.ndarray, acc: np.ndarray, focus: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs each ``focus`` element forms with the other members of its group (each pair once).

    Returns ``(pair keys, element index of the focus member, of the other)``; ``sum_focus (d - 1)``
    candidates, minus pairs of two focus members counted twice.
    """
    starts, sizes, pos = _layout(group)
    f = np.flatnonzero(focus)
    if not len(f):
        e = np.zeros(0, np.int64)
        return e, e, e
    size_of = np.repeat(sizes, sizes)
    start_of = np.repeat(starts, sizes)
    cnt = size_of[f] - 1
    i = np.repeat(f, cnt)
    k = np.arange(len(i)) - np.repeat(np.cumsum(cnt) - cnt, cnt)  # 0 .. d-2: skip the element itself
    j = start_of[i] + k + (k >= pos[i])
    keep = ~focus[j] | (j > i)
    i, j = i[keep], j[keep]
    a, b = acc[i], acc[j]
    return pack(np.minimum(a, b), np.maximum(a, b)), i, j


class _Kernels(NamedTuple):
    probe: Any  # (slots, keys, n, q, insert) -> (rows, n): rows of q's keys, appending the missing ones if insert
    rebuild: Any  # (slots, keys, n): re-index the first n keys


@functools.cache
def _kernels() -> _Kernels:
    """The hash index's compiled loops (numba, loaded on first use)."""
    from numba import njit

    @njit(nogil=True, cache=True, inline="always")
    def slot(k, mask):  # type: ignore[no-untyped-def]
        x = np.uint64(k)
        x ^= x >> np.uint64(33)
        x *= np.uint64(0xFF51AFD7ED558CCD)
        x ^= x >> np.uint64(33)
        x *= np.uint64(0xC4CEB9FE1A85EC53)
        x ^= x >> np.uint64(33)
        return np.int64(x & np.uint64(mask))

    @njit(nogil=True, cache=True)
    def probe(slots, keys, n, q, insert):  # type: ignore[no-untyped-def]
        """Row of each key of ``q`` and the new row count; a key not held is appended at row
        ``n, n + 1, ...`` when ``insert``, else gets -1."""
        mask = len(slots) - 1
        rows = np.full(len(q), -1, np.int64)
        for i in range(len(q)):
            k = q[i]
            s = slot(k, mask)
            while True:
                r = slots[s]
                if r < 0:
                    if insert:
                        slots[s] = n
                        keys[n] = k
                        rows[i] = n
                        n += 1
                    break
                if keys[r] == k:
                    rows[i] = r
                    break
                s = (s + 1) & mask
        return rows, n

    @njit(nogil=True, cache=True)
    def rebuild(slots, keys, n):  # type: ignore[no-untyped-def]
        mask = len(slots) - 1
        slots[:] = -1
        for r in range(n):
            s = slot(keys[r], mask)
            while slots[s] >= 0:
                s = (s + 1) & mask
            slots[s] = r

    return _Kernels(probe, rebuild)


class PairTable:
    """Pairs of accounts with evidence, one row per pair, found through a hash index.

    Rows are appended as pairs appear (a pair keeps its row until :meth:`drop_empty`
    compacts the table), so an update costs its own cells, not a copy of the table:
    the earlier layout, sorted by key with ``np.insert``, spent 37 of 122 s of a
    seed-scale daily update moving the table (``benchmarks/results/monitor_pairs_hash.md``).
    The index is open addressing with linear probing on a mixed 64-bit key, at most
    half full; row order is the order pairs were first added, which is itself
    deterministic, and nothing downstream depends on it (:func:`._graph._edges`
    sorts the links by key).

    Attributes
    ----------
    key : ndarray of int64
        ``u << 32 | v`` with ``u < v``.
    evidence : ndarray of float32, shape (n_pairs, n_types)
        Summed per-pair evidence of each signal type (the state's type order).
    link : ndarray of float32
        Link weight of the pair as last computed (0 when below every cut).
    touched : ndarray of bool
        Rows whose evidence changed since :meth:`take_touched` was last called.

    The four are views of the first ``len(self)`` rows of growable buffers: writing
    into them writes the table (assigning ``link`` copies into it).
    """

    def __init__(self, evidence: np.ndarray | None = None) -> None:
        n_types = 0 if evidence is None else evidence.shape[1]
        self._n = 0
        self._key = np.zeros(0, np.int64)
        self._ev = np.zeros((0, n_types), np.float32)
        self._link = np.zeros(0, np.float32)
        self._touched = np.zeros(0, bool)
        self._slots = np.full(16, -1, np.int32)
        self._n_empty = 0
        self._buf: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._buf_n = 0
        if evidence is not None and len(evidence):
            raise ValueError("PairTable starts empty; add pairs with add()")

    @property
    def key(self) -> np.ndarray:
        return self._key[: self._n]

    @property
    def evidence(self) -> np.ndarray:
        return self._ev[: self._n]

    @property
    def link(self) -> np.ndarray:
        return self._link[: self._n]

    @link.setter
    def link(self, value: np.ndarray) -> None:
        if len(value) != self._n:
            raise ValueError(f"link weights for {len(value)} rows, the table has {self._n}")
        self._link[: self._n] = value

    @property
    def touched(self) -> np.ndarray:
        return self._touched[: self._n]

    def _reserve(self, n_more: int) -> None:
        """Room for ``n_more`` rows, and an index at most half full after them."""
        need = self._n + n_more
        if need > len(self._key):
            cap = max(need, int(len(self._key) * 1.5), 1024)
            for name in ("_key", "_link", "_touched"):
                old = getattr(self, name)
                new = np.zeros(cap, old.dtype)
                new[: self._n] = old[: self._n]
                setattr(self, name, new)
            ev = np.zeros((cap, self._ev.shape[1]), np.float32)
            ev[: self._n] = self._ev[: self._n]
            self._ev = ev
        if 2 * need > len(self._slots):
            size = 1 << int(np.ceil(np.log2(max(4 * need, 16))))
            if size > np.iinfo(np.int32).max:
                raise MemoryError("pair table index past 2**31 slots")
            self._slots = np.empty(size, np.int32)
            _kernels().rebuild(self._slots, self._key, self._n)

    def stage(self, key: np.ndarray, type_: np.ndarray, value: np.ndarray) -> int:
        """Queue evidence changes; they are merged (one sort, one pass) at :meth:`flush`."""
        self._buf.append((key, type_, np.asarray(value, np.float64)))
        self._buf_n += len(key)
        if self._buf_n >= FLUSH_CELLS:
            self.flush()
        return len(key)

    def flush(self) -> None:
        """Merge the queued changes into the table."""
        if self._buf:
            k, t, v = (np.concatenate(c) for c in zip(*self._buf))
            self._buf, self._buf_n = [], 0
            self.add(k, t, v)

    def __len__(self) -> int:
        return self._n

    def rows_of(self, key: np.ndarray) -> np.ndarray:
        """Row of each pair key (-1 where the pair is not held)."""
        if not len(key) or not self._n:
            return np.full(len(key), -1, np.int64)
        return _kernels().probe(self._slots, self._key, self._n, np.ascontiguousarray(key, np.int64), False)[0]

    def ensure_types(self, n_types: int) -> None:
        """Add evidence columns for signal types seen for the first time."""
        extra = n_types - self._ev.shape[1]
        if extra > 0:
            self._ev = np.hstack([self._ev, np.zeros((len(self._ev), extra), np.float32)])

    def add(self, key: np.ndarray, type_: np.ndarray, value: np.ndarray) -> int:
        """Add ``value`` to the evidence of type ``type_`` of pair ``key`` (new pairs appended).

        One ``argsort`` of the (pair, type) cells (each cell's changes are summed in float64
        in a fixed order, then added once), one pass through the index.
        Rows changed are marked in :attr:`touched`; returns the number of cells changed.
        """
        if not len(key):
            return 0
        n_types = self._ev.shape[1]
        cell = (np.asarray(key, np.int64) << _TYPE_BITS) | np.asarray(type_, np.int64)  # keys < 2**59
        order = np.argsort(cell, kind="stable")
        cell = cell[order]
        first = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
        sums = np.add.reduceat(np.asarray(value, np.float64)[order], first)
        cell = cell[first]
        ckey, ctype = cell >> _TYPE_BITS, cell & _TYPE_MASK
        head = np.r_[True, ckey[1:] != ckey[:-1]]
        uniq = ckey[head]
        self._reserve(len(uniq))
        n0 = self._n
        rows_u, self._n = _kernels().probe(self._slots, self._key, self._n, uniq, True)
        for buf in (self._ev, self._link, self._touched):  # appended rows start empty (compaction leaves stale tails)
            buf[n0: self._n] = 0
        rows = np.repeat(rows_u, np.diff(np.r_[np.flatnonzero(head), len(ckey)]))
        self.touched[rows_u] = True
        ev = self._ev.reshape(-1)
        flat = rows * n_types + ctype
        was = ev[flat]
        now = np.maximum(was + sums.astype(np.float32), 0.0)
        ev[flat] = now
        ran_out = rows[(was > EMPTY) & (now <= EMPTY)]  # a cell ran out: is the whole row empty now?
        if len(ran_out):
            mark = np.zeros(self._n, bool)  # a mask, not np.unique: millions of cells run out when buckets move
            mark[ran_out] = True
            emptied = np.flatnonzero(mark)
            self._n_empty += int((self._ev[emptied] <= EMPTY).all(axis=1).sum())
        return len(flat)

    def take_touched(self) -> np.ndarray:
        """Rows changed since the last call (and clear the marks)."""
        rows = np.flatnonzero(self.touched)
        self.touched[rows] = False
        return rows

    def drop_empty(self) -> None:
        """Remove the rows whose evidence has all (numerically) gone, once they are 5 % of the table.

        :meth:`add` counts the rows it empties; until the count passes 5 % an empty row is
        harmless (its link weight is 0, and it is reused if the pair comes back); then one
        pass compacts the table and rebuilds its index.
        """
        if self._n_empty <= 0.05 * self._n:
            return
        keep = ~(self.evidence <= EMPTY).all(axis=1)
        self._n_empty = 0
        n = int(keep.sum())
        if n == self._n:
            return
        self._key[:n] = self.key[keep]
        self._ev[:n] = self.evidence[keep]
        self._link[:n] = self.link[keep]
        self._touched[:n] = self.touched[keep]
        self._n = n
        _kernels().rebuild(self._slots, self._key, self._n)
