"""A growing table of distinct strings: integer codes for text seen batch by batch.

Reading an event log row group by row group, each identifier column arrives as
a dictionary per row group (Parquet's own dictionary pages, read with
``read_dictionary``); :class:`StringTable` gives every distinct value one code
across the whole file, in order of first appearance, so the per-event column is
kept as ``int32`` codes and each distinct text is stored once. The table is an
open-addressing hash table over the raw bytes (compiled with numba, loaded on
first use); values are compared byte for byte on a hash match, so two different
strings never share a code. :meth:`StringTable.values` returns the distinct
values as one Arrow array, in code order.

Cost: O(total bytes of the dictionaries inserted), about 10–30 ns per value;
memory: the distinct bytes plus 24 bytes per distinct value.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["StringTable", "string_buffers"]


@functools.cache
def _compile() -> Any:
    """The numba insert kernel (compiled and cached on first use)."""
    from numba import njit

    @njit(nogil=True, cache=True)
    def insert(data, off, valid, slots, ehash, eoff, buf, n):  # type: ignore[no-untyped-def]
        mask = np.uint64(len(slots) - 1)
        codes = np.empty(len(valid), np.int32)
        prime = np.uint64(0x100000001B3)
        for r in range(len(valid)):
            if not valid[r]:
                codes[r] = -1
                continue
            lo, hi = off[r], off[r + 1]
            h = np.uint64(0xCBF29CE484222325)
            for i in range(lo, hi):
                h = (h ^ np.uint64(data[i])) * prime
            h ^= h >> np.uint64(33)
            h *= np.uint64(0xFF51AFD7ED558CCD)
            h ^= h >> np.uint64(33)
            s = h & mask
            while True:
                e = slots[s]
                if e < 0:
                    e = n
                    slots[s] = e
                    ehash[e] = h
                    start = eoff[e]
                    buf[start:start + hi - lo] = data[lo:hi]
                    eoff[e + 1] = start + hi - lo
                    n += 1
                    break
                if ehash[e] == h and eoff[e + 1] - eoff[e] == hi - lo:
                    a = eoff[e]
                    same = True
                    for i in range(hi - lo):
                        if buf[a + i] != data[lo + i]:
                            same = False
                            break
                    if same:
                        break
                s = (s + np.uint64(1)) & mask
            codes[r] = e
        return codes, n

    @njit(nogil=True, cache=True)
    def rehash(ehash, n, slots):  # type: ignore[no-untyped-def]
        mask = np.uint64(len(slots) - 1)
        for e in range(n):
            s = ehash[e] & mask
            while slots[s] >= 0:
                s = (s + np.uint64(1)) & mask
            slots[s] = e

    return (insert, rehash)


def string_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(uint8 data, int64 offsets of length n + 1, bool valid)`` of a string or binary array."""
    n = len(arr)
    large = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    bufs = arr.buffers()
    off = np.frombuffer(bufs[1], np.int64 if large else np.int32, n + 1, arr.offset * (8 if large else 4))
    data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None and n else np.zeros(0, np.uint8)
    valid = np.ones(n, bool) if arr.null_count == 0 else np.asarray(arr.is_valid().to_numpy(zero_copy_only=False))
    return data, off.astype(np.int64), valid


class StringTable:
    """Distinct byte strings and their codes (0, 1, ... in order of first insertion).

    Parameters
    ----------
    binary : bool
        Whether :meth:`values` returns ``large_binary`` (else ``large_string``).

    Examples
    --------
    >>> t = StringTable()
    >>> t.codes(pa.array(["b", "a", None, "b"])).tolist()
    [0, 1, -1, 0]
    >>> t.codes(pa.array(["c", "a"])).tolist(), t.values().to_pylist()
    ([2, 1], ['b', 'a', 'c'])
    """

    def __init__(self, binary: bool = False) -> None:
        self.binary = binary
        self.n = 0
        self._slots = np.full(1024, -1, np.int32)
        self._hash = np.zeros(512, np.uint64)
        self._off = np.zeros(513, np.int64)
        self._buf = np.zeros(1 << 16, np.uint8)

    def __len__(self) -> int:
        return self.n

    def _reserve(self, rows: int, nbytes: int) -> None:
        """Grow the arrays so ``rows`` more values of ``nbytes`` bytes fit (load factor <= 1/2)."""
        need = self.n + rows
        if need + 1 > len(self._hash):
            cap = max(2 * len(self._hash), need + 1)
            self._hash = np.resize(self._hash, cap)
            self._off = np.resize(self._off, cap + 1)
        if 2 * need > len(self._slots):
            cap = len(self._slots)
            while 2 * need > cap:
                cap *= 2
            self._rehash(cap)
        used = int(self._off[self.n])
        if used + nbytes > len(self._buf):
            self._buf = np.resize(self._buf, max(2 * len(self._buf), used + nbytes))

    def _rehash(self, cap: int) -> None:
        """Rebuild the slot array at capacity ``cap`` (codes do not change)."""
        self._slots = np.full(cap, -1, np.int32)
        _compile()[1](self._hash, self.n, self._slots)

    def codes(self, arr: pa.Array) -> np.ndarray:
        """Codes of the values of a string/binary array (inserting new ones); null -> -1."""
        data, off, valid = string_buffers(arr)
        if len(off) > 1:
            data = data[: int(off[-1])]
        self._reserve(len(valid), int(off[-1] - off[0]) if len(off) > 1 else 0)
        codes, self.n = _compile()[0](data, off, valid, self._slots, self._hash, self._off, self._buf, self.n)
        return codes

    def values(self) -> pa.Array:
        """The distinct values in code order (``large_string`` or ``large_binary``)."""
        t = pa.large_binary() if self.binary else pa.large_string()
        off = pa.py_buffer(self._off[: self.n + 1].copy())
        data = pa.py_buffer(self._buf[: int(self._off[self.n])].copy())
        return pa.Array.from_buffers(t, self.n, [None, off, data])
