"""Word-shingle MinHash (one-permutation hashing) and LSH band keys: the sketches template families use.

:func:`shingle_signatures` sketches each prompt's word ``width``-shingles
(``width=1``: its word tokens) with one-permutation hashing and rotation
densification; :func:`band_keys` cuts signatures into LSH band keys. Both run
in compiled kernels (:mod:`accountgraph.minhash._kernels`) for ASCII text; the
other rows take pyarrow's Unicode kernels and give the same values.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .._exceptions import InvalidParameterError
from .._hashing import GOLDEN, splitmix64
from ._kernels import band_hashes, rotation_densify, shingles_ascii
from ._signatures import row_bytes, seed_salt, token_hash64
from ._tokenize import iter_text_batches, tokenize_batch

__all__ = ["EMPTY_BIN", "band_keys", "shingle_signatures"]

#: Value of an empty bin of a shingle signature.
EMPTY_BIN = np.uint64(0xFFFFFFFFFFFFFFFF)


def shingle_signatures(texts: pa.Array, *, num_perm: int = 64, seed: int = 1, width: int = 3) -> tuple[np.ndarray, int]:
    """One-permutation MinHash of each prompt's word ``width``-shingles.

    Returns ``(signatures (n, num_perm) uint64 with empty bins = 2**64-1,
    number of rows that were not valid UTF-8)``. Pure-ASCII rows are
    tokenised, hashed, shingled and binned in one compiled pass over their
    bytes (:func:`accountgraph.minhash._kernels.shingles_ascii`); the other rows take
    the pyarrow Unicode kernels (:func:`_unicode_shingles`), which give the
    same values.
    """
    n = len(texts)
    sig = np.full((n, num_perm), EMPTY_BIN, np.uint64)
    n_bad = 0
    for batch in iter_text_batches(texts, batch_size=max(n, 1)):
        n_bad += batch.n_invalid_utf8
        arr = batch.texts
        m = len(arr)
        off, data, valid = row_bytes(arr)
        status = np.zeros(m, dtype=np.uint8)
        part = sig[batch.start:batch.start + m]
        shingles_ascii(data, off, valid, seed_salt(seed), width, part, status)
        rest = np.flatnonzero(status == 2)
        if rest.size:
            _unicode_shingles(arr.take(pa.array(rest)), rest, part, seed, width)
    rotation_densify(sig)
    return sig, n_bad


def _unicode_shingles(texts: pa.Array, rows: np.ndarray, sig: np.ndarray, seed: int, width: int) -> None:
    """Bin the ``width``-shingles of ``texts`` (any text) into ``sig[rows]``, vectorised over the batch.

    Tokens from :func:`accountgraph.minhash._tokenize.tokenize_batch`, hashes from
    :func:`accountgraph.minhash._signatures.token_hash64`; a shingle's hash folds
    ``x = splitmix64(x * GOLDEN ^ h_j)`` over consecutive token hashes of a
    row, and the per-bin minimum of its low 32 bits is one ``np.minimum.at``.
    """
    num_perm = sig.shape[1]
    tb = tokenize_batch(texts)
    if tb.code.size < width:
        return
    order = np.argsort(tb.row, kind="stable")
    row, h = rows[tb.row[order]], token_hash64(tb.vocab, seed)[tb.code[order]]
    m = len(row) - width + 1
    ok = row[width - 1:] == row[:m]
    with np.errstate(over="ignore"):
        acc = h[:m].copy()
        for j in range(1, width):
            acc = splitmix64(acc * GOLDEN ^ h[j:m + j])
    acc, r = acc[ok], row[:m][ok]
    bins = ((acc >> np.uint64(32)) * np.uint64(num_perm)) >> np.uint64(32)
    flat = sig.reshape(-1)
    np.minimum.at(flat, r * num_perm + bins.astype(np.int64), acc & np.uint64(0xFFFFFFFF))


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """One 64-bit key per (prompt, band), and one hash per prompt of its whole signature.

    Returns ``(keys (n, bands), row_hash (n,))``, both uint64. The band index
    is mixed into each key, so keys of different bands never collide by
    construction; a band whose bins are all empty gets key 0 (callers skip it).

    Band ``b`` takes the strided bins ``b, b + bands, b + 2 * bands, ...``,
    not consecutive ones: after rotation densification neighbouring empty bins
    copy the same source bin, and a band of copies would collide with
    probability ``J`` instead of ``J ** rows``. Compiled
    (:func:`accountgraph.minhash._kernels.band_hashes`).
    """
    sig = np.ascontiguousarray(signatures, dtype=np.uint64)
    if bands * rows > sig.shape[1]:
        raise InvalidParameterError(
            f"band_keys: bands * rows = {bands * rows} exceeds the signature length {sig.shape[1]}; "
            "use lsh_params(similarity, num_perm) for a layout that fits."
        )
    keys = np.empty((len(sig), bands), np.uint64)
    row_hash = np.empty(len(sig), np.uint64)
    band_hashes(sig, bands, rows, keys, row_hash)
    return keys, row_hash
