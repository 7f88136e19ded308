"""Batch MinHash signatures of prompts: datasketch-exact and a fast one-permutation sketch.

Slot-filled prompt templates are the clearest trace a distillation campaign
leaves. This module turns a column of prompts into MinHash signatures over
their word tokens (:func:`accountgraph.minhash._tokenize.prompt_tokens`), batch by
batch, with no per-prompt Python loop:

* ``exact=True`` reproduces ``datasketch.MinHash`` (2.x, default ``affine32``
  scheme, ``sha1_hash32``) bit for bit: SHA-1 of every distinct token of a batch
  (vectorised in numpy, ``hashlib`` only for tokens over 247 bytes), the
  MurmurHash3 32-bit finaliser, then ``a_k * h + b_k mod 2**32`` for all
  permutations, min-reduced per prompt in a compiled kernel
  (:func:`accountgraph.minhash._kernels.affine_min`).
* ``exact=False`` (default) is one-permutation hashing (OPH, Li, Owen & Zhang
  2012) with optimal densification (Shrivastava 2017): each token occurrence
  is hashed to 64 bits (:func:`token_hash64`; for ASCII prompts in one
  compiled pass over the bytes, :func:`accountgraph.minhash._kernels.oph_ascii`), the
  high bits pick one of ``num_perm`` bins and the low 32 bits compete for
  that bin's minimum; empty bins borrow from the first non-empty bin of a
  fixed, seeded probe order. Cost is O(tokens) instead of O(tokens * num_perm).

Both signatures estimate Jaccard similarity of token *sets* as the fraction of
equal positions and feed :func:`accountgraph.minhash.band_keys`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from .._exceptions import EngineUnavailableError, InvalidParameterError
from .._parallel import map_batches
from ._hashes import _fmix32, affine32_permutations, row_bytes, seed_salt, sha1_hash32_array, token_hash64
from ._kernels import affine_min, densify, oph_add, oph_ascii
from ._tokenize import (
    TextBatch,
    TokenBatch,
    as_text_array,
    iter_text_batches,
    tokenize_batch,
)

__all__ = [
    "prompt_signatures",
    "to_lean_minhash",
    "affine32_permutations",
    "sha1_hash32_array",
    "EMPTY_EXACT",
    "EMPTY_FAST",
    "SignatureStats",
    "signatures_with_stats",
    "row_bytes",
    "seed_salt",
    "token_hash64",
]

logger = logging.getLogger(__name__)

#: Value of every position of an exact signature of a token-less prompt (datasketch's max hash).
EMPTY_EXACT = np.uint32(0xFFFFFFFF)
#: Value of every position of a fast-mode signature of a token-less prompt.
EMPTY_FAST = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass
class SignatureStats:
    """Per-row flags and counts gathered while computing signatures.

    Attributes
    ----------
    has_tokens : numpy.ndarray
        ``bool`` per row: the prompt has at least one token (False for nulls).
    invalid_utf8 : numpy.ndarray
        ``bool`` per row: the bytes were not valid UTF-8 (decoded with replacement).
    n_null : int
        Null rows.
    n_tokens : int
        Token occurrences hashed.
    """

    has_tokens: np.ndarray
    invalid_utf8: np.ndarray
    n_null: int = 0
    n_tokens: int = 0

    @property
    def n_rows(self) -> int:
        """Rows in the input."""
        return int(self.has_tokens.size)

    @property
    def n_invalid_utf8(self) -> int:
        """Rows that were not valid UTF-8."""
        return int(self.invalid_utf8.sum())

    @property
    def n_no_tokens(self) -> int:
        """Non-null rows without any token (empty, whitespace or punctuation only)."""
        return int(self.n_rows - self.has_tokens.sum() - self.n_null)


def _fast_signatures(texts: pa.Array, seed: int, probe_t: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """OPH + optimal densification signatures of one batch: (uint64 (n, p), has-token rows, tokens).

    Pure-ASCII rows are tokenised, hashed and binned in one compiled pass over
    their bytes (:func:`accountgraph.minhash._kernels.oph_ascii`); the other rows go
    through the pyarrow Unicode kernels and :func:`token_hash64`, whose
    hashes the compiled pass reproduces bit for bit. Empty bins are then
    filled from the first non-empty bin of a fixed, seeded probe order.
    """
    n, p = len(texts), probe_t.shape[0]
    off, data, valid = row_bytes(texts)
    sig = np.full((n, p), 0xFFFFFFFF, dtype=np.uint32)
    filled = np.zeros((n, p), dtype=bool)
    status = np.zeros(n, dtype=np.uint8)
    ntok = int(oph_ascii(data, off, valid, seed_salt(seed), sig, filled, status))
    rest = np.flatnonzero(status == 2)
    if rest.size:
        tb = tokenize_batch(texts.take(pa.array(rest)))
        oph_add(rest[tb.row], token_hash64(tb.vocab, seed)[tb.code], sig, filled)
        ntok += int(tb.code.size)
    out = np.empty((n, p), dtype=np.uint64)
    has = densify(sig, filled, probe_t, out)
    return out, has, ntok


def _exact_batch(tb: TokenBatch, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """datasketch affine32 signatures of one token batch, shape (n_rows, num_perm) uint32."""
    sig = np.full((tb.n_rows, a.size), EMPTY_EXACT, dtype=np.uint32)
    if tb.code.size:
        # Duplicate tokens within a prompt are kept: the compiled min is cheaper than removing them.
        affine_min(tb.row, tb.code, _fmix32(sha1_hash32_array(tb.vocab)), a, b, sig)
    return sig


def _probe_order(num_perm: int, seed: int) -> np.ndarray:
    """(num_perm, num_perm) table: column j is the seeded probe order of bins for densifying bin j.

    Stored transposed (row t = t-th probe of every bin) for contiguous access.
    """
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x0F4])
    order = np.argsort(rng.random((num_perm, num_perm)), axis=1)
    return np.ascontiguousarray(order.T).astype(np.int32)


def _check_params(num_perm: int, seed: int) -> None:
    if not isinstance(num_perm, (int, np.integer)) or isinstance(num_perm, bool) or num_perm < 1:
        raise InvalidParameterError(
            f"The 'num_perm' parameter of prompt_signatures must be an int >= 1. Got {num_perm!r} instead."
        )
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise InvalidParameterError(
            f"The 'seed' parameter of prompt_signatures must be an int in [0, 2**32). Got {seed!r} instead "
            "(datasketch seeds numpy's RandomState with it)."
        )


def signatures_with_stats(
    texts: Any,
    *,
    num_perm: int = 128,
    seed: int = 1,
    exact: bool = False,
    batch_size: int = 8192,
    n_jobs: int | None = -1,
) -> tuple[np.ndarray, SignatureStats]:
    """:func:`prompt_signatures` plus the row counts (nulls, token-less, invalid UTF-8)."""
    _check_params(num_perm, seed)
    arr = as_text_array(texts)
    n = len(arr)
    stats = SignatureStats(np.zeros(n, dtype=bool), np.zeros(n, dtype=bool), n_null=arr.null_count)
    out = np.empty((n, num_perm), dtype=np.uint32 if exact else np.uint64)
    if exact:
        a, b = affine32_permutations(num_perm, seed)
    else:
        probe = _probe_order(num_perm, seed)

    def work(batch: TextBatch) -> tuple[TextBatch, np.ndarray, np.ndarray, int]:
        if exact:
            tb = tokenize_batch(batch.texts)
            return batch, _exact_batch(tb, a, b), tb.row, tb.code.size
        sig, has, ntok = _fast_signatures(batch.texts, seed, probe)
        return batch, sig, np.flatnonzero(has), ntok

    for batch, sig, tok_rows, ntok in map_batches(work, iter_text_batches(arr, batch_size=batch_size), n_jobs):
        lo = batch.start
        out[lo : lo + len(batch.texts)] = sig
        stats.has_tokens[lo + tok_rows] = True
        stats.invalid_utf8[lo + batch.invalid] = True
        stats.n_tokens += ntok
    return out, stats


def prompt_signatures(
    texts: Any,
    *,
    num_perm: int = 128,
    seed: int = 1,
    exact: bool = False,
    batch_size: int = 8192,
    n_jobs: int | None = -1,
) -> np.ndarray:
    """MinHash signatures of a column of prompts, one row per prompt.

    Parameters
    ----------
    texts : pyarrow/polars/pandas column, numpy array or sequence of str or bytes
        The prompts. ``None``/NaN and token-less text get the empty signature;
        bytes that are not valid UTF-8 are decoded with replacement (counted
        and logged).
    num_perm : int, default 128
        Signature length (permutations in exact mode, bins in fast mode).
    seed : int, default 1
        Seed of the permutations (exact) or of the token hash and probe order (fast).
    exact : bool, default False
        If True, row ``i`` equals ``datasketch.MinHash(num_perm=num_perm,
        seed=seed)`` updated with ``[t.encode() for t in prompt_tokens(texts[i])]``,
        element for element, dtype ``uint32`` like datasketch's ``hashvalues``
        (empty prompts: all ``2**32 - 1``). If False, one-permutation hashing
        with densification, dtype ``uint64`` (empty prompts: all ``2**64 - 1``).
    batch_size : int, default 8192
        Prompts per batch; working memory is proportional to it (and batches
        are also cut at 64 MB of text).
    n_jobs : int or None, default -1
        Worker threads; -1 uses every core, None or 1 runs inline.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(texts), num_perm)``.

    Raises
    ------
    InvalidParameterError
        If ``num_perm`` or ``seed`` is out of range.
    SchemaError
        If ``texts`` is not a column of text.

    Notes
    -----
    Tokenising is linear in the bytes. Exact mode costs O(distinct tokens per
    prompt * num_perm) integer operations, the fast mode O(tokens + num_perm)
    per prompt. Exact signatures from different modes or seeds must not be
    compared. See ``benchmarks/results/minhash.md`` for measured throughput
    and Jaccard error.

    Examples
    --------
    >>> sig = prompt_signatures(["a b c d", "a b c e", None], num_perm=64, exact=True)
    >>> sig.shape, sig.dtype
    ((3, 64), dtype('uint32'))
    >>> bool((sig[2] == 2**32 - 1).all())
    True
    """
    return signatures_with_stats(texts, num_perm=num_perm, seed=seed, exact=exact, batch_size=batch_size, n_jobs=n_jobs)[0]


def to_lean_minhash(signature_row: np.ndarray, *, seed: int = 1) -> Any:
    """Wrap one exact-mode signature row as a ``datasketch.LeanMinHash``.

    Parameters
    ----------
    signature_row : numpy.ndarray
        One row of ``prompt_signatures(..., exact=True)``.
    seed : int, default 1
        The seed the signature was computed with.

    Returns
    -------
    datasketch.LeanMinHash
        With ``scheme="affine32"``; usable in ``datasketch.MinHashLSH`` and
        comparable with ``datasketch.MinHash(seed=seed)`` sketches.

    Raises
    ------
    InvalidParameterError
        If the row is not one-dimensional ``uint32`` (fast-mode rows are ``uint64``).
    EngineUnavailableError
        If datasketch is not installed.
    """
    try:
        from datasketch import LeanMinHash
    except ImportError as err:  # pragma: no cover - datasketch is a dependency
        raise EngineUnavailableError("to_lean_minhash needs datasketch: pip install datasketch") from err
    row = np.asarray(signature_row)
    if row.ndim != 1 or row.size == 0:
        raise InvalidParameterError(f"to_lean_minhash expects one non-empty signature row; got shape {row.shape}.")
    if row.dtype != np.uint32:
        # Fast-mode rows are uint64 (and values < 2**32 would pass a range check):
        # the dtype is the only reliable mark of an exact-mode row.
        raise InvalidParameterError(
            f"to_lean_minhash expects an exact-mode (datasketch affine32, uint32) signature row; got dtype "
            f"{row.dtype}. Compute it with prompt_signatures(..., exact=True)."
        )
    return LeanMinHash(seed=seed, hashvalues=row.astype(np.uint32), scheme="affine32")
