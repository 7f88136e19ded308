"""Compiled (numba) kernels of the prompt-signature stage.

Each kernel fuses work that numpy can only do as a chain of whole-batch
temporaries (tokenise, hash, bin, take minima), so a batch is read once and
nothing the size of its token occurrences is ever allocated. They release
the GIL, so the worker threads of :func:`accountgraph._minhash._map_batches`
run them on every core. Values are bit-identical to the numpy/pyarrow
reference path, which the tests keep as the oracle:

* :func:`oph_ascii` tokenises pure-ASCII rows exactly like
  :func:`accountgraph._tokenize.tokenize_batch` (lower-case; split on
  ``\\t\\n\\v\\f\\r``, ``U+001C..U+001F`` and space; trim ASCII punctuation;
  drop empty tokens) and hashes each token exactly like
  :func:`accountgraph._minhash._token_hash64`;
* :func:`shingles_ascii` does the same for word 3-shingles (the template
  stage of detect, :func:`accountgraph._templates.shingle_signatures`);
* :func:`densify` is OPH with optimal densification over a seeded probe table;
* :func:`affine_min` is datasketch's ``min_k (a_k * h + b_k) mod 2**32``.

Compiled machine code is cached next to this file (``cache=True``); the
first call in a fresh environment compiles for a few seconds.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._hashing import GOLDEN, fmix64, splitmix64
from ._tokenize import ASCII_PUNCT

__all__ = ["oph_ascii", "oph_add", "densify", "affine_min", "shingles_ascii", "rotation_densify", "NONE_ROW"]

_WSTEP = np.uint64(0xD6E8FEB86659FD93)
_S32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)
_EMPTY64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_ZERO64, _ONE64 = np.uint64(0), np.uint64(1)
_SM_M2 = np.uint64(0x94D049BB133111EB)  # splitmix64's second multiplier, seeds band hashes

# Byte classes of lower-cased ASCII: 0 token byte, 1 whitespace, 2 punctuation
# (trimmed at token ends), 3 non-ASCII (the row goes to the Unicode kernels).
_WS, _PUNCT, _NONASCII = 1, 2, 3
_CLASS = np.zeros(256, dtype=np.uint8)
_CLASS[0x09:0x0E] = _WS
_CLASS[0x1C:0x21] = _WS
_CLASS[np.frombuffer(ASCII_PUNCT.encode("ascii"), dtype=np.uint8)] = _PUNCT
_CLASS[0x80:] = _NONASCII

#: Marker in the ``status`` output of :func:`oph_ascii` for rows it did not sign.
NONE_ROW = np.uint8(0)


# The mixers are defined once in :mod:`accountgraph._hashing` and compiled here
# as scalar functions.
_fmix64 = njit(inline="always")(fmix64)
_splitmix = njit(inline="always")(splitmix64)


@njit(inline="always")
def _ascii_row(data, lo, hi):  # type: ignore[no-untyped-def]
    for i in range(lo, hi):
        if data[i] >= 128:
            return False
    return True


@njit(inline="always")
def _claim_row(data, off, valid, status, r):  # type: ignore[no-untyped-def]
    """``(lo, hi, ok)``: row ``r``'s bytes, and whether this pass signs it.

    Null rows are skipped; rows with a byte >= 0x80 get status 2 (left to
    the Unicode kernels); the rest get status 1.
    """
    lo, hi = off[r], off[r + 1]
    if not valid[r]:
        return lo, hi, False
    if not _ascii_row(data, lo, hi):
        status[r] = 2
        return lo, hi, False
    status[r] = 1
    return lo, hi, True


@njit(inline="always")
def _token_hash(data, s, e, salt):  # type: ignore[no-untyped-def]
    """``_token_hash64`` of the lower-cased bytes ``data[s:e]`` (ASCII, non-empty)."""
    total = np.uint64(0)
    i = 0
    pos = s
    while pos < e:
        stop = min(pos + 8, e)
        w = np.uint64(0)
        shift = np.uint64(0)
        for k in range(pos, stop):
            c = data[k]
            if 65 <= c <= 90:
                c += 32
            w |= np.uint64(c) << shift
            shift += np.uint64(8)
        if i == 0:
            total = _fmix64(w ^ salt)
        else:
            total += _fmix64(w ^ (np.uint64(i) * _WSTEP + salt))
        i += 1
        pos = stop
    return _fmix64(total ^ (np.uint64(e - s) * GOLDEN) ^ salt)


@njit(inline="always")
def _next_token(data, i, hi):  # type: ignore[no-untyped-def]
    """``(start, stop, resume)`` of the next non-empty token at or after byte ``i``; ``start == stop`` at the end."""
    while i < hi:
        while i < hi and _CLASS[data[i]] == _WS:
            i += 1
        s = i
        while i < hi and _CLASS[data[i]] != _WS:
            i += 1
        e = i
        while s < e and _CLASS[data[s]] == _PUNCT:
            s += 1
        while e > s and _CLASS[data[e - 1]] == _PUNCT:
            e -= 1
        if s < e:
            return s, e, i
    return hi, hi, hi


@njit(nogil=True, cache=True)
def oph_ascii(data, off, valid, salt, sig, filled, status):  # type: ignore[no-untyped-def]
    """Tokenise, hash and bin the pure-ASCII rows of a batch (one-permutation hashing).

    Parameters
    ----------
    data : uint8 array
        The batch's string data buffer.
    off : int array, length n + 1
        Row offsets into ``data``.
    valid : bool array, length n
        False for null rows (skipped).
    salt : uint64
        Seed-derived salt of the token hash.
    sig : uint32 array (n, p)
        Bin minima, initialised to ``2**32 - 1``; updated in place.
    filled : bool array (n, p)
        Bins that received a token; updated in place.
    status : uint8 array, length n
        Set to 1 for rows signed here, 2 for rows with a byte >= 0x80
        (left to the Unicode path); null rows keep :data:`NONE_ROW`.

    Returns
    -------
    int
        Token occurrences hashed.
    """
    n, p = sig.shape
    pp = np.uint64(p)
    ntok = 0
    for r in range(n):
        lo, hi, ok = _claim_row(data, off, valid, status, r)
        if not ok:
            continue
        s, e, i = _next_token(data, lo, hi)
        while s < e:
            h = _token_hash(data, s, e, salt)
            b = ((h >> _S32) * pp) >> _S32
            v = np.uint32(h & _LOW32)
            if v < sig[r, b]:
                sig[r, b] = v
            filled[r, b] = True
            ntok += 1
            s, e, i = _next_token(data, i, hi)
    return ntok


@njit(inline="always")
def _bin_min(sig, r, acc, pp):  # type: ignore[no-untyped-def]
    """Keep the low 32 bits of shingle hash ``acc`` as the minimum of its bin in row ``r``."""
    b = ((acc >> _S32) * pp) >> _S32
    v = acc & _LOW32
    if v < sig[r, b]:
        sig[r, b] = v


@njit(nogil=True, cache=True)
def shingles_ascii(data, off, valid, salt, width, sig, status):  # type: ignore[no-untyped-def]
    """One-permutation MinHash of the word ``width``-shingles of the pure-ASCII rows.

    A shingle's hash is ``h_0`` folded with ``x = splitmix64(x * GOLDEN ^ h_j)``
    over its token hashes (as :func:`accountgraph._templates.shingle_signatures`);
    bin minima of its low 32 bits go to ``sig`` (uint64 (n, p), initialised to
    ``2**64 - 1``). ``status`` as in :func:`oph_ascii`. Widths 1 to 3 (the
    template stage uses 3) keep the last token hashes in registers; wider
    shingles go through a ring buffer; the values are the same.
    """
    n, p = sig.shape
    pp = np.uint64(p)
    ring = np.zeros(max(width, 1), dtype=np.uint64)
    for r in range(n):
        lo, hi, ok = _claim_row(data, off, valid, status, r)
        if not ok:
            continue
        k = 0
        h1 = h2 = np.uint64(0)  # the two previous token hashes (widths <= 3)
        s, e, i = _next_token(data, lo, hi)
        while s < e:
            h = _token_hash(data, s, e, salt)
            k += 1
            if width == 3:
                if k >= 3:
                    _bin_min(sig, r, _splitmix(_splitmix(h2 * GOLDEN ^ h1) * GOLDEN ^ h), pp)
                h2, h1 = h1, h
            elif width == 2:
                if k >= 2:
                    _bin_min(sig, r, _splitmix(h1 * GOLDEN ^ h), pp)
                h1 = h
            elif width == 1:
                _bin_min(sig, r, h, pp)
            else:
                ring[(k - 1) % width] = h
                if k >= width:
                    acc = ring[(k - width) % width]
                    for j in range(1, width):
                        acc = _splitmix(acc * GOLDEN ^ ring[(k - width + j) % width])
                    _bin_min(sig, r, acc, pp)
            s, e, i = _next_token(data, i, hi)


@njit(nogil=True, cache=True)
def oph_add(row, h, sig, filled):  # type: ignore[no-untyped-def]
    """Bin already-hashed token occurrences (``row[i]``, ``h[i]``) into ``sig``/``filled``."""
    pp = np.uint64(sig.shape[1])
    for i in range(row.size):
        r = row[i]
        b = ((h[i] >> _S32) * pp) >> _S32
        v = np.uint32(h[i] & _LOW32)
        if v < sig[r, b]:
            sig[r, b] = v
        filled[r, b] = True


@njit(nogil=True, cache=True)
def densify(sig, filled, probe_t, out):  # type: ignore[no-untyped-def]
    """Optimal densification: empty bin ``j`` takes the first filled bin of ``probe_t[:, j]``.

    Rows without any filled bin get ``2**64 - 1`` everywhere. Returns a bool
    array marking rows that had a token.
    """
    n, p = sig.shape
    has = np.zeros(n, dtype=np.bool_)
    for r in range(n):
        for j in range(p):
            if filled[r, j]:
                has[r] = True
                break
        if not has[r]:
            out[r, :] = _EMPTY64
            continue
        for j in range(p):
            if filled[r, j]:
                out[r, j] = sig[r, j]
                continue
            for t in range(p):
                src = probe_t[t, j]
                if filled[r, src]:
                    out[r, j] = sig[r, src]
                    break
    return has


@njit(nogil=True, cache=True)
def affine_min(row, code, hv, a, b, sig):  # type: ignore[no-untyped-def]
    """``sig[row[i], k] = min(sig[row[i], k], (a[k] * hv[code[i]] + b[k]) mod 2**32)`` over all ``i``."""
    p = a.size
    for i in range(row.size):
        r = row[i]
        v = hv[code[i]]
        for k in range(p):
            x = np.uint32(a[k] * v + b[k])
            if x < sig[r, k]:
                sig[r, k] = x


@njit(nogil=True, cache=True)
def rotation_densify(sig):  # type: ignore[no-untyped-def]
    """Rotation densification (Shrivastava, ICML 2017) of uint64 bin minima, in place.

    An empty bin (``2**64 - 1``) at ``j`` takes ``splitmix64(v ^ d * GOLDEN) mod 2**32``
    where ``v`` is the next non-empty bin to its right (circularly) and ``d``
    its distance, so two prompts' bins collide with probability close to their
    Jaccard similarity even when most bins are empty (without it a band with
    one filled bin would match on one shared shingle). Rows without any
    non-empty bin stay empty. One right-to-left pass over the doubled row
    (first the wrap-around copy, to find the next non-empty bin, then the
    row itself); only empty bins are written and only non-empty ones read, so
    working in place is safe.
    """
    n, p = sig.shape
    for r in range(n):
        nxt = -1
        for j in range(p):  # the first non-empty bin of the copy at positions p .. 2p-1
            if sig[r, j] != _EMPTY64:
                nxt = p + j
                break
        if nxt < 0:
            continue
        for t in range(p - 1, -1, -1):
            if sig[r, t] != _EMPTY64:
                nxt = t
            else:
                d = np.uint64(nxt - t)
                sig[r, t] = _splitmix(sig[r, nxt - p if nxt >= p else nxt] ^ (d * GOLDEN)) & _LOW32


@njit(nogil=True, cache=True)
def band_hashes(sig, bands, rows, keys, row_hash):  # type: ignore[no-untyped-def]
    """LSH band keys and a whole-row hash of uint64 signatures.

    ``keys[i, b]`` folds ``x = splitmix64(x ^ v)`` from ``x = (b + 1) * M2`` over
    the strided bins ``b, b + bands, ...`` (``rows`` of them); 0 when they are
    all empty (``2**64 - 1``), and 1 where the fold itself gives 0.
    ``row_hash[i]`` folds the same from 0 over every bin of row ``i``.
    """
    n, p = sig.shape
    for i in range(n):
        for b in range(bands):
            h = np.uint64(b + 1) * _SM_M2
            all_empty = True
            for j in range(rows):
                v = sig[i, b + j * bands]
                all_empty &= v == _EMPTY64
                h = _splitmix(h ^ v)
            # uint64 on every branch: numba unifies int64 with uint64 as float64.
            keys[i, b] = _ZERO64 if all_empty else (_ONE64 if h == _ZERO64 else h)
        acc = np.uint64(0)
        for j in range(p):
            acc = _splitmix(acc ^ sig[i, j])
        row_hash[i] = acc
