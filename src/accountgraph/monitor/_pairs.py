"""Account pairs and their evidence per signal type, kept between updates and changed by deltas.

The batch projection computes, for every pair of accounts sharing a
projectable signal and for every signal type ``t``, the evidence
``E_t(u, v) = sum_s lambda_s`` over the shared signals of that type, and from
it the link weight. ``E_t`` is a sum, so a monitor can keep it and add only
what an update changes: ``+lambda`` for the pairs a new member of a signal
forms, ``-lambda`` for those a departing member leaves, and, when a signal's
rarity weight has drifted, the difference over its pairs. This module holds
the pair table (``u << 32 | v`` keys with ``u < v`` behind a hash index, one
float32 column per signal type) and its compiled group pass
(:meth:`PairTable.add_groups`), which walks the pairs of groups of accounts and
changes their evidence without ever materialising them: a daily update at seed
scale changes tens of millions of pairs.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, NamedTuple

import numpy as np


__all__ = ["PairTable"]

logger = logging.getLogger(__name__)

_TYPE_BITS = np.int64(4)
_TYPE_MASK = np.int64(15)
#: Evidence at or below this is none (float32 sums of +lambda and -lambda leave residues).
EMPTY = 1e-5
#: Room left past the rows by :meth:`PairTable.fit`. A day's update at seed scale appends about a
#: quarter of the table in new pairs before it compacts the ones it emptied (day 7: 54M -> 65M rows,
#: then 52M): past this room :meth:`PairTable.add_groups` compacts, and grows only if that frees too little.
FIT_SLACK = 0.25
#: Share of the rows that must be empty before a compaction (at the end of an update, or in place of
#: growing the table when a new pair does not fit).
COMPACT_SHARE = 0.05
#: Most signal types a pair table holds (evidence cells are keyed ``pair << 4 | type``).
MAX_TYPES = 16


class _Kernels(NamedTuple):
    probe: Any  # (slots, keys, n, q, insert) -> (rows, n): rows of q's keys, appending the missing ones if insert
    rebuild: Any  # (slots, keys, n): re-index the first n keys
    groups: Any  # (slots, keys, ev, link, touched, n, group, acc, p2, b1, flag, type, la, lt, start, i, j, eps)
    #   -> (n, group, i, j, applied, emptied): resume from pair (i, j) of the group returned
    compact: Any  # (keys, ev, link, touched, n, eps, keep) -> (rows kept, empty rows kept): drop empty rows in place


@functools.cache
def _kernels() -> _Kernels:
    """The hash index's compiled loops (numba, loaded on first use: :mod:`._pair_kernels`)."""
    from ._pair_kernels import compact, groups, probe, rebuild

    return _Kernels(probe, rebuild, groups, compact)


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
    link_cut : float
        A touched row whose evidence ran out survives a compaction inside :meth:`add_groups` while
        its link (as last weighed) is at least this: re-weighing must still see that link fall.
        The monitor sets it to ``min_link``; 0 keeps every such row.

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
        self._n_pinned = 0
        self.link_cut = 0.0
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
            if need <= len(self._slots) // 2:  # first up to what the index holds anyway (it doubles past that)
                cap = min(cap, max(len(self._slots) // 2, 1024))
            for name in ("_key", "_link", "_touched"):
                old = getattr(self, name)
                new = np.zeros(cap, old.dtype)
                new[: self._n] = old[: self._n]
                setattr(self, name, new)
            ev = np.zeros((cap, self._ev.shape[1]), np.float32)
            ev[: self._n] = self._ev[: self._n]
            self._ev = ev
            logger.debug("pair table: room for %d rows (%d held)", cap, self._n)
        if 2 * need > len(self._slots):
            size = 1 << int(np.ceil(np.log2(max(2 * need, 16))))  # 4 B a slot: 2-4 slots a row
            if size > np.iinfo(np.int32).max:
                raise MemoryError("pair table index past 2**31 slots")
            self._slots = np.empty(size, np.int32)
            _kernels().rebuild(self._slots, self._key, self._n)
            logger.debug("pair table: index of %d slots (%d rows held)", size, self._n)

    def reserve(self, n_rows: int) -> None:
        """Room for ``n_rows`` rows in all (buffers and index sized once, before a known load)."""
        self._reserve(max(n_rows - self._n, 0))

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

    def add_groups(self, group: np.ndarray, acc: np.ndarray, p2: np.ndarray, b1: np.ndarray, flag: np.ndarray,
                   type_: np.ndarray, lam_old: np.ndarray, lam_new: np.ndarray) -> int:
        """Change the evidence of every pair inside each group, in one compiled pass (nothing queued).

        Elements are sorted by ``group``; each carries its account, its signal's type and the
        signal's applied (``lam_old``) and target (``lam_new``) evidence. A pair of two staying
        members gets ``lam_new - lam_old``; one with a new member (``flag`` bit 1) ``lam_new``;
        one with a departed member (bit 2) ``-lam_old``; one with both, nothing. Pairs of the
        second cut of a sampled signal (``p2``) whose members share their first-cut bucket
        (``b1``) are skipped (formed there already). Removing a signal's contribution with
        ``lam_new = 0``, or adding one with ``lam_old = 0``, are the special cases.

        Returns the number of (pair, type) cells changed. The pairs are never materialised: a
        refresh touching tens of millions of pairs costs their probes, not arrays of them.
        """
        k = _kernels().groups
        args = (np.ascontiguousarray(group, np.int64), np.ascontiguousarray(acc, np.int64),
                np.ascontiguousarray(p2, np.bool_), np.ascontiguousarray(b1, np.int64),
                np.ascontiguousarray(flag, np.int8), np.ascontiguousarray(type_, np.int64),
                np.ascontiguousarray(lam_old, np.float64), np.ascontiguousarray(lam_new, np.float64))
        start, i, j, total = 0, -1, -1, 0
        while start < len(group):
            self._n, start, i, j, applied, emptied = k(self._slots, self._key, self._ev, self._link, self._touched,
                                                       self._n, *args, start, i, j, EMPTY)
            total += applied
            self._n_empty += emptied
            if start < len(group):  # a new pair did not fit: compact if a share of the rows is empty, else grow
                if self._n_empty - self._n_pinned > COMPACT_SHARE * self._n:
                    self._compact(self.link_cut)
                if self._n >= len(self._key) or 2 * (self._n + 1) > len(self._slots):
                    self._reserve(1)  # buffers by half, the index doubled
        return total

    def fit(self, slack: float = FIT_SLACK) -> None:
        """Give back the room past ``(1 + slack) * len(self)`` rows, and an index larger than it needs.

        Geometric growth leaves the buffers up to half again the rows. One copy of the rows.
        """
        cap = max(int(self._n * (1.0 + slack)), 1024)
        if len(self._key) > cap * (1.0 + slack):
            for name in ("_key", "_link", "_touched", "_ev"):
                setattr(self, name, getattr(self, name)[:cap].copy())
        size = 1 << int(np.ceil(np.log2(max(2 * cap, 16))))
        if size < len(self._slots):
            self._slots = np.empty(size, np.int32)
            _kernels().rebuild(self._slots, self._key, self._n)

    def take_touched(self) -> np.ndarray:
        """Rows changed since the last call (and clear the marks)."""
        rows = np.flatnonzero(self.touched)
        self.touched[rows] = False
        return rows

    def drop_empty(self) -> None:
        """Remove the rows whose evidence has all (numerically) gone, once they are 5 % of the table.

        :meth:`add` and :meth:`add_groups` count the rows they empty; until the count passes
        :data:`COMPACT_SHARE` an empty row is harmless (its link weight is 0 once re-weighed, and it
        is reused if the pair comes back); then one pass compacts the table and rebuilds its index.
        Call it once the touched rows have been re-weighed.
        """
        if self._n_empty <= COMPACT_SHARE * self._n:
            return
        self._compact(np.inf)

    def _compact(self, keep: float) -> None:
        """Drop the empty rows (but touched ones whose link is at least ``keep``) and re-index.

        Inside :meth:`add_groups`, in place of growing a table whose rows ran out: a daily update
        at seed scale empties millions of rows (bucket re-splits remove all of a signal's pairs)
        before it appends as many, and growing meant copying 2.5 GB of rows into buffers half
        again as large, and doubling the index, all kept to the end of the update.
        """
        n, pinned = _kernels().compact(self._key, self._ev, self._link, self._touched, self._n, EMPTY, keep)
        self._n_empty = self._n_pinned = int(pinned)
        logger.debug("pair table: compacted %d -> %d rows (%d emptied kept to re-weigh)", self._n, n, pinned)
        if n != self._n:
            self._n = int(n)
            _kernels().rebuild(self._slots, self._key, self._n)
