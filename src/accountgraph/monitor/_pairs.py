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

from dataclasses import dataclass, field

import numpy as np

from ._keys import pack

__all__ = ["PairTable", "all_pairs", "member_pairs"]

_TYPE_BITS = np.int64(4)
_TYPE_MASK = np.int64(15)
#: Queued evidence changes merged at once (bounds the memory of a large refresh).
FLUSH_CELLS = 20_000_000
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


@dataclass
class PairTable:
    """Pairs of accounts with evidence, sorted by key.

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
    """

    key: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    evidence: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    link: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    touched: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    _buf: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list, repr=False)
    _buf_n: int = field(default=0, repr=False)

    def stage(self, key: np.ndarray, type_: np.ndarray, value: np.ndarray) -> int:
        """Queue evidence changes; they are merged (one sort, one insertion) at :meth:`flush`."""
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
        return len(self.key)

    def ensure_types(self, n_types: int) -> None:
        """Add evidence columns for signal types seen for the first time."""
        extra = n_types - self.evidence.shape[1]
        if extra > 0:
            self.evidence = np.hstack([self.evidence, np.zeros((len(self.key), extra), np.float32)])

    def add(self, key: np.ndarray, type_: np.ndarray, value: np.ndarray) -> np.ndarray:
        """Add ``value`` to the evidence of type ``type_`` of pair ``key`` (new pairs inserted).

        One ``argsort`` of the (pair, type) cells, one merge into the sorted table.
        Rows changed are marked in :attr:`touched`; returns the number of cells changed.
        """
        if not len(key):
            return 0
        n_types = self.evidence.shape[1]
        cell = (key << _TYPE_BITS) | type_  # pair keys stay below 2**59 (accounts below 2**27)
        order = np.argsort(cell, kind="stable")
        cell = cell[order]
        first = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
        sums = np.add.reduceat(np.asarray(value, np.float64)[order], first)
        cell = cell[first]
        ckey, ctype = cell >> _TYPE_BITS, cell & _TYPE_MASK
        uniq = ckey[np.r_[True, ckey[1:] != ckey[:-1]]]
        if len(self.key):
            p = np.minimum(np.searchsorted(self.key, uniq), len(self.key) - 1)
            fresh = uniq[self.key[p] != uniq]
        else:
            fresh = uniq
        if len(fresh):
            at = np.searchsorted(self.key, fresh)
            self.key = np.insert(self.key, at, fresh)
            self.evidence = np.insert(self.evidence, at, np.zeros((len(fresh), n_types), np.float32), axis=0)
            self.link = np.insert(self.link, at, np.zeros(len(fresh), np.float32))
            self.touched = np.insert(self.touched, at, np.zeros(len(fresh), bool))
        rows = np.searchsorted(self.key, ckey)
        self.touched[rows] = True
        ev = self.evidence.reshape(-1)
        flat = rows * n_types + ctype
        ev[flat] = np.maximum(ev[flat] + sums.astype(np.float32), 0.0)
        return len(flat)

    def take_touched(self) -> np.ndarray:
        """Rows changed since the last call (and clear the marks)."""
        rows = np.flatnonzero(self.touched)
        self.touched[rows] = False
        return rows

    def drop_empty(self, rows: np.ndarray, tol: float = 1e-5) -> None:
        """Remove the given rows if all their evidence is (numerically) gone.

        Rows are only removed once they are 1 % of the table (one copy of the table then);
        until then an empty row is harmless: its link weight is 0.
        """
        if not len(rows):
            return
        dead = rows[(self.evidence[rows] <= tol).all(axis=1)]
        self._n_empty = getattr(self, "_n_empty", 0) + len(dead)
        if self._n_empty > 0.01 * len(self.key):
            dead = np.flatnonzero((self.evidence <= tol).all(axis=1))
            self._n_empty = 0
        else:
            dead = dead[:0]
        if len(dead):
            keep = np.ones(len(self.key), bool)
            keep[dead] = False
            self.key, self.evidence, self.link = self.key[keep], self.evidence[keep], self.link[keep]
            self.touched = self.touched[keep]
