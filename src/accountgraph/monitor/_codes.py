"""Append-only dictionaries: account ids, signal values and model names to stable integer codes.

A batch detector factorises identifiers over their sorted values, so codes
change when new values arrive. A monitor needs codes that never change: a new
value gets the next free code, and codes of one batch's new values follow the
sorted order of those values, so an update does not depend on its row order.
Lookups go through a 64-bit hash of the value (``pandas.util.hash_array``,
SipHash) kept sorted beside its code: one ``searchsorted`` per batch value and
one sorted merge per update, no Python loop and no rebuilt hash table. Two
distinct values of one dictionary sharing a 64-bit hash would be one code; at
10 million values the chance is about 3e-6.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from .._hashing import GOLDEN, splitmix64
from .._unique import search

__all__ = ["Codes", "hash_text", "hash_typed"]

#: pandas' default ``hash_key`` ("0123456789123456") as SipHash's two 64-bit key words.
_K0 = np.uint64(int.from_bytes(b"01234567", "little"))
_K1 = np.uint64(int.from_bytes(b"89123456", "little"))
#: What pandas hashes for a null (``str(None)``).
_NONE = np.frombuffer(b"None", np.uint8)


def hash_text(values: pa.Array | pa.ChunkedArray | np.ndarray) -> np.ndarray:
    """64-bit hash (uint64) of each string: ``pandas.util.hash_array(values, categorize=False)``.

    Arrow strings are hashed from their buffers by a compiled SipHash (:mod:`._siphash`), the
    same values pandas gives without making a Python string per row; anything else goes through
    pandas. A null hashes as pandas hashes ``None``: like the text ``"None"``.
    """
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        if pa.types.is_dictionary(values.type):  # decoded first: ChunkedArray.to_numpy of a dictionary
            values = values.cast(values.type.value_type)  # column turns nulls into values (pyarrow 26)
        if pa.types.is_string_view(values.type) or pa.types.is_binary_view(values.type):
            values = values.cast(pa.large_binary())
        if _buffered(values.type):
            chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
            parts = [_hash_buffers(c) for c in chunks if len(c)]
            return splitmix64(np.concatenate(parts)) if parts else np.zeros(0, np.uint64)
        values = values.to_numpy(zero_copy_only=False)
    obj = np.asarray(values, dtype=object)
    if len(obj) == 0:
        return np.zeros(0, np.uint64)
    return pd.util.hash_array(obj, categorize=False)


def _buffered(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t)


def _hash_buffers(arr: pa.Array) -> np.ndarray:
    """SipHash-2-4 of each row of an Arrow (large) string or binary array, before pandas' final mix."""
    from ._siphash import siphash_rows

    _, off_buf, data_buf = arr.buffers()
    wide = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    offsets = np.frombuffer(off_buf, np.int64 if wide else np.int32)[arr.offset: arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    nulls = arr.null_count > 0
    valid = arr.is_valid().to_numpy(zero_copy_only=False) if nulls else np.ones(0, bool)
    return siphash_rows(offsets, data, valid, nulls, _NONE, _K0, _K1)


def hash_typed(type_index: np.ndarray, values: pa.Array | np.ndarray) -> np.ndarray:
    """Hash of (type, value): signals of different types never share a key by construction of the mix."""
    with np.errstate(over="ignore"):
        t = np.asarray(type_index, np.uint64) + np.uint64(1)
        return splitmix64(hash_text(values) ^ (t * GOLDEN))


@dataclass
class Codes:
    """Sorted value hashes and their codes; codes are ``0 .. n-1`` in order of arrival.

    Attributes
    ----------
    keys : ndarray of uint64
        Value hashes, sorted.
    codes : ndarray of int64
        Code of each key.
    """

    keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    codes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def from_hashes(cls, hashes: np.ndarray) -> Codes:
        """Dictionary whose value ``i`` (in arrival order) has hash ``hashes[i]``."""
        order = np.argsort(hashes, kind="stable")
        return cls(np.asarray(hashes, np.uint64)[order], order.astype(np.int64))

    def lookup(self, hashes: np.ndarray) -> np.ndarray:
        """Code of each hash, -1 where unknown."""
        if not len(self.keys) or not len(hashes):
            return np.full(len(hashes), -1, np.int64)
        pos = np.minimum(search(self.keys, hashes), len(self.keys) - 1)
        return np.where(self.keys[pos] == hashes, self.codes[pos], -1)

    def add(self, hashes: np.ndarray) -> np.ndarray:
        """Append distinct unknown ``hashes`` (in the given order); return their new codes."""
        hashes = np.asarray(hashes, np.uint64)
        new = len(self.keys) + np.arange(len(hashes), dtype=np.int64)
        if len(hashes):
            from ._sorted_kernels import insert_at

            order = np.argsort(hashes, kind="stable")
            pos = np.searchsorted(self.keys, hashes[order])
            self.keys = insert_at(self.keys, pos, hashes[order])
            self.codes = insert_at(self.codes, pos, new[order])
        return new

    def encode(self, hashes: np.ndarray, order_key: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Codes of ``hashes``, adding unknown ones; returns ``(codes, rows that were new)``.

        New distinct values get codes in the order of ``order_key`` (e.g. their
        position in a sorted value list), else in order of first appearance.
        """
        codes = self.lookup(hashes)
        miss = np.flatnonzero(codes < 0)
        if not miss.size:
            return codes, miss
        uniq, first, inv = np.unique(hashes[miss], return_index=True, return_inverse=True)
        rank = first if order_key is None else np.asarray(order_key)[miss][first]
        order = np.argsort(rank, kind="stable")
        new_codes = np.empty(len(uniq), np.int64)
        new_codes[order] = self.add(uniq[order])
        codes[miss] = new_codes[inv.reshape(-1)]
        return codes, miss[first[order]]
