"""UTF-8 well-formedness and lossless Latin-1 decoding, vectorised over Arrow buffers.

Used by the CSV reader (rows with bytes that are not UTF-8 are quarantined, not
fatal) and by :meth:`Quarantine.rows` (undecodable text is shown as Latin-1).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["latin1_to_utf8"]


def _binary_parts(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """64-bit offsets (rebased to 0) and data bytes of a large_binary/large_string array."""
    bufs = arr.buffers()
    off = np.frombuffer(bufs[1], np.int64)[arr.offset: arr.offset + len(arr) + 1]
    data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    lo = int(off[0]) if len(off) else 0
    return off - lo, data[lo: int(off[-1]) if len(off) else 0]


def _invalid_utf8(arr: pa.Array) -> np.ndarray:
    """Bool per value of a large_binary array: not well-formed UTF-8 (RFC 3629).

    Vectorised over the data buffer: every lead byte must be followed, inside
    its own value, by as many continuation bytes as it announces (with the
    second-byte ranges that exclude overlong forms, surrogates and code points
    past U+10FFFF), and a value must hold no other continuation bytes.
    O(bytes) time, about 10 bytes of scratch memory per data byte.
    """
    n = len(arr)
    off, b = _binary_parts(arr)
    row = np.repeat(np.arange(n, dtype=np.int64), np.diff(off))
    end = off[1:]
    need = np.zeros(len(b), np.int8)
    need[(b >= 0xC2) & (b <= 0xDF)] = 1
    need[(b >= 0xE0) & (b <= 0xEF)] = 2
    need[(b >= 0xF0) & (b <= 0xF4)] = 3
    cont = (b & 0xC0) == 0x80
    bad = (b == 0xC0) | (b == 0xC1) | (b >= 0xF5)
    lead = np.flatnonzero(need)
    k_need = need[lead]
    for k in (1, 2, 3):
        sel = lead[k_need >= k]
        j = sel + k
        ok = j < end[row[sel]]
        ok[ok] = cont[j[ok]]
        bad[sel[~ok]] = True
    l2 = lead[k_need >= 2]
    second = b[np.minimum(l2 + 1, max(len(b) - 1, 0))] if len(l2) else np.zeros(0, np.uint8)
    first = b[l2]
    out_of_range = (((first == 0xE0) & (second < 0xA0)) | ((first == 0xED) & (second > 0x9F))
                    | ((first == 0xF0) & (second < 0x90)) | ((first == 0xF4) & (second > 0x8F)))
    bad[l2[out_of_range]] = True
    row_bad = np.zeros(n, bool)
    row_bad[row[bad]] = True
    # Continuation bytes no lead byte claimed.
    row_bad |= np.bincount(row, weights=cont, minlength=n) != np.bincount(row, weights=need, minlength=n)
    if arr.null_count:
        row_bad &= np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), bool)
    return row_bad


def latin1_to_utf8(arr: pa.Array) -> pa.Array:
    """Decode a large_binary array (without nulls) as Latin-1, vectorised.

    Every byte maps to one code point, so the text is never lossy: the
    original bytes are ``value.encode('latin-1')``.
    """
    off, b = _binary_parts(arr)
    high = b >= 0x80
    extra = np.concatenate([[0], np.cumsum(high)]).astype(np.int64)
    out = np.empty(len(b) + int(high.sum()), np.uint8)
    pos = np.arange(len(b), dtype=np.int64) + extra[:-1]
    out[pos] = np.where(high, 0xC0 | (b >> 6), b)
    out[pos[high] + 1] = 0x80 | (b[high] & 0x3F)
    return pa.LargeStringArray.from_buffers(len(arr), pa.py_buffer((off + extra[off]).astype(np.int64)),
                                            pa.py_buffer(out))
