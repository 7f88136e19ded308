"""Prompt-template families: the pipeline stage that turns prompts into a signal.

(:func:`accountgraph.template_families` in ``_lsh`` is the public, datasketch-
compatible tool on word tokens with pairwise verification; this stage works on
word 3-shingles, which separate campaign templates from short everyday prompts
better — see "Tokens" below — and streams prompts from disk.)

Prompts are streamed in batches (from memory or lazily from a Parquet file),
identical prompts inside a batch are hashed once, MinHash signatures come from
:func:`accountgraph._minhash.signatures_with_stats`, and each signature is cut
into LSH bands. A **family** is a connected component of prompts that share a
band: slot-filled variants of one template land together, unrelated prompts
do not. Family ids are ranked by a hash of their smallest member signature, so
they do not depend on the input row order.

Tokens
------
Families are built on **word 3-shingles**, not single words: two short,
unrelated prompts ("how do i fix X", "how do i make Y") share most of their
words but almost none of their word triples, whereas slot-filled variants of a
long template share most triples. Measured on the ``small`` scenario, unigram
sets at threshold 0.5 chained 89 % of all prompts into one family; trigrams
leave the largest family at 6.5 % and mix ring and legitimate prompts in
families covering 238 of 194,440 rows (``benchmarks/results/minhash.md``).
Trigram hashes are combined from the token hashes of
:mod:`accountgraph._minhash` (no strings are built; ASCII prompts in one
compiled pass over their bytes), and sketched with
one-permutation hashing: each shingle falls in one of ``num_perm`` bins, the
bin keeps its minimum. Bands whose bins are all empty (very short prompts) are
not used as keys. Prompts with fewer than three tokens have no family.

Bounded cost
------------
Working memory is one batch of text plus ``bands`` 64-bit keys per (sampled)
prompt. For very large inputs an optional cap keeps at most ``cap`` prompts per
account per time window (:func:`accountgraph._lsh.sample_per_account_window`); repetition
evidence is then measured on the sample.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ._io import LazyColumn
from ._kernels import band_hashes, rotation_densify, shingles_ascii
from ._lsh import lsh_params
from ._minhash import _map_batches, _row_bytes, _salt, _token_hash64
from ._tokenize import iter_text_batches, tokenize_batch

__all__ = ["TemplateFamilies", "template_families", "shingle_signatures", "band_keys"]

logger = logging.getLogger(__name__)

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (vectorised, wrapping uint64 arithmetic)."""
    x = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= _M1
        x ^= x >> np.uint64(27)
        x *= _M2
        x ^= x >> np.uint64(31)
    return x


_EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)


def shingle_signatures(texts: pa.Array, *, num_perm: int = 64, seed: int = 1, width: int = 3) -> tuple[np.ndarray, int]:
    """One-permutation MinHash of each prompt's word ``width``-shingles.

    Returns ``(signatures (n, num_perm) uint64 with empty bins = 2**64-1,
    number of rows that were not valid UTF-8)``. Pure-ASCII rows are
    tokenised, hashed, shingled and binned in one compiled pass over their
    bytes (:func:`accountgraph._kernels.shingles_ascii`); the other rows take
    the pyarrow Unicode kernels (:func:`_unicode_shingles`), which give the
    same values.
    """
    n = len(texts)
    sig = np.full((n, num_perm), _EMPTY, np.uint64)
    n_bad = 0
    for batch in iter_text_batches(texts, batch_size=max(n, 1)):
        n_bad += batch.n_invalid_utf8
        arr = batch.texts
        m = len(arr)
        off, data, valid = _row_bytes(arr)
        status = np.zeros(m, dtype=np.uint8)
        part = sig[batch.start:batch.start + m]
        shingles_ascii(data, off, valid, _salt(seed), width, part, status)
        rest = np.flatnonzero(status == 2)
        if rest.size:
            _unicode_shingles(arr.take(pa.array(rest)), rest, part, seed, width)
    rotation_densify(sig)
    return sig, n_bad


def _unicode_shingles(texts: pa.Array, rows: np.ndarray, sig: np.ndarray, seed: int, width: int) -> None:
    """Bin the ``width``-shingles of ``texts`` (any text) into ``sig[rows]``, vectorised over the batch.

    Tokens from :func:`accountgraph._tokenize.tokenize_batch`, hashes from
    :func:`accountgraph._minhash._token_hash64`; a shingle's hash folds
    ``x = splitmix64(x * GOLDEN ^ h_j)`` over consecutive token hashes of a
    row, and the per-bin minimum of its low 32 bits is one ``np.minimum.at``.
    """
    num_perm = sig.shape[1]
    tb = tokenize_batch(texts)
    if tb.code.size < width:
        return
    order = np.argsort(tb.row, kind="stable")
    row, h = rows[tb.row[order]], _token_hash64(tb.vocab, seed)[tb.code[order]]
    m = len(row) - width + 1
    ok = row[width - 1:] == row[:m]
    with np.errstate(over="ignore"):
        acc = h[:m].copy()
        for j in range(1, width):
            acc = _mix(acc * np.uint64(0x9E3779B97F4A7C15) ^ h[j:m + j])
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
    (:func:`accountgraph._kernels.band_hashes`).
    """
    sig = np.ascontiguousarray(signatures, dtype=np.uint64)
    if bands * rows > sig.shape[1]:
        raise ValueError(f"bands * rows = {bands * rows} exceeds the signature length {sig.shape[1]}")
    keys = np.empty((len(sig), bands), np.uint64)
    row_hash = np.empty(len(sig), np.uint64)
    band_hashes(sig, bands, rows, keys, row_hash)
    return keys, row_hash


@dataclass
class TemplateFamilies:
    """Template family of each prompt and a table of the families.

    Attributes
    ----------
    family : ndarray of int64, shape (n,)
        Family id per input row; -1 for null/token-less prompts and rows not sampled.
    families : pandas.DataFrame
        ``family``, ``prompts`` (rows), ``distinct`` (distinct prompt texts),
        ``representative`` (the most frequent text; ties by text).
    stats : dict
        Rows, sampled rows, nulls, token-less and invalid-UTF-8 counts, bands.
    """

    family: np.ndarray
    families: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)


def _batches(prompts: Any, mask: np.ndarray | None, batch_rows: int) -> Iterator[tuple[np.ndarray, pa.Array]]:
    """(row indices, text array) batches of the kept rows."""
    if isinstance(prompts, LazyColumn):
        yield from prompts.iter_arrays(mask, batch_rows)
        return
    # Never combine a whole column: past 2 GiB of text 32-bit offsets overflow.
    chunks = prompts.chunks if isinstance(prompts, pa.ChunkedArray) else [prompts]
    base = 0
    for chunk in chunks:
        n = len(chunk)
        idx = np.arange(n) if mask is None else np.flatnonzero(mask[base:base + n])
        for lo in range(0, len(idx), batch_rows):
            rows = idx[lo:lo + batch_rows]
            arr = chunk.slice(int(rows[0]), len(rows)) if mask is None else chunk.take(pa.array(rows))
            yield rows + base, arr
        base += n


def template_families(
    prompts: Any,
    *,
    threshold: float = 0.5,
    num_perm: int = 64,
    seed: int = 1,
    sample: np.ndarray | None = None,
    batch_rows: int = 65_536,
    n_rows: int | None = None,
) -> TemplateFamilies:
    """Group prompts into template families (MinHash LSH + connected components).

    Parameters
    ----------
    prompts : pyarrow Array/ChunkedArray of text, or a LazyColumn
    threshold : float
        Jaccard similarity at which two prompts are likely to share a band.
    num_perm : int
        Signature length.
    seed : int
    sample : ndarray of bool, optional
        Only these rows are hashed (see :func:`accountgraph._lsh.sample_per_account_window`).
    batch_rows : int
        Rows per batch; bounds working memory.
    n_rows : int, optional
        Number of rows (required for a LazyColumn without a length).

    Returns
    -------
    TemplateFamilies

    Notes
    -----
    Cost: signatures dominate (see ``benchmarks/results/minhash.md``); banding
    is ``bands * rows`` vectorised passes; families are one sparse
    connected-components pass over distinct signatures and their band keys.
    """
    n = int(n_rows if n_rows is not None else len(prompts))
    bands, rows = lsh_params(threshold, num_perm)
    row_ids: list[np.ndarray] = []
    row_sig: list[np.ndarray] = []  # per row: id of its distinct signature (batch-local -> global below)
    keys: list[np.ndarray] = []
    sighash: list[np.ndarray] = []
    first_rows: list[np.ndarray] = []  # a row holding each batch-distinct prompt
    stats = {"rows": n, "sampled": 0, "null": 0, "no_tokens": 0, "invalid_utf8": 0, "bands": bands, "rows_per_band": rows}
    def work(item: tuple[np.ndarray, pa.Array]) -> tuple:
        """Everything about one batch that does not depend on other batches."""
        rows_idx, arr = item
        enc = arr.dictionary_encode()
        uniq = enc.dictionary
        sig, n_bad = shingle_signatures(uniq, num_perm=num_perm, seed=seed)
        empty = (sig == _EMPTY).all(axis=1)
        codes = np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        ok_u = ~empty
        local = np.full(len(uniq), -1, np.int64)
        local[ok_u] = np.arange(int(ok_u.sum()))
        keys, acc = band_keys(sig[ok_u], bands, rows)
        pos = np.full(len(uniq), -1, np.int64)
        valid = codes >= 0
        pos[codes[valid][::-1]] = np.flatnonzero(valid)[::-1]  # first position of each distinct prompt
        counts = (len(rows_idx), n_bad, int((~valid).sum()), int((valid & empty[np.maximum(codes, 0)]).sum()))
        return (rows_idx, np.where(valid, local[np.maximum(codes, 0)], -1), keys, acc,
                rows_idx[pos[ok_u]], int(ok_u.sum()), counts)

    # Batches run on a thread pool; results come back in batch order, so the
    # output does not depend on the number of workers.
    offset = 0
    for rows_idx, rsig, k, acc, frows, n_ok, counts in _map_batches(work, _batches(prompts, sample, batch_rows), -1):
        stats["sampled"] += counts[0]
        stats["invalid_utf8"] += counts[1]
        stats["null"] += counts[2]
        stats["no_tokens"] += counts[3]
        row_ids.append(rows_idx)
        row_sig.append(np.where(rsig >= 0, rsig + offset, -1))
        keys.append(k)
        sighash.append(acc)
        first_rows.append(frows)
        offset += n_ok

    family = np.full(n, -1, np.int64)
    if offset == 0:
        return TemplateFamilies(family, pd.DataFrame(columns=["family", "prompts", "distinct", "representative"]), stats)
    keys_all = np.concatenate(keys)
    keys.clear()
    hashes = np.concatenate(sighash)
    # Distinct signatures across batches: identical prompts in different batches
    # have identical signatures.
    d_codes, d_uniq = pd.factorize(hashes, sort=True)
    n_d = len(d_uniq)
    del hashes
    # Families = connected components of "shares a band key". Band by band,
    # every signature is linked to the first one holding the same key (a star
    # per key: same components as the signature-key bipartite graph, with one
    # int32 edge per collision instead of a node and two entries per key), so
    # memory stays a few bytes per sampled prompt and band.
    src: list[np.ndarray] = []
    dst: list[np.ndarray] = []
    for b in range(bands):
        kb = keys_all[:, b]
        used = kb != 0
        codes, _ = pd.factorize(kb[used], sort=False)
        node = d_codes[used]
        leader = np.empty(int(codes.max()) + 1 if codes.size else 0, np.int64)
        leader[codes[::-1]] = node[::-1]  # the first signature seen with each key
        lead = leader[codes]
        linked = lead != node
        src.append(node[linked].astype(np.int32))
        dst.append(lead[linked].astype(np.int32))
    del keys_all
    e_src, e_dst = np.concatenate(src), np.concatenate(dst)
    del src, dst
    adj = sp.coo_matrix((np.ones(e_src.size, np.int8), (e_src, e_dst)), shape=(n_d, n_d)).tocsr()
    del e_src, e_dst
    _, comp = connected_components(adj, directed=False)
    del adj
    # Order-free family ids: rank components by their smallest signature hash
    # (d_uniq is sorted, so the first member seen in index order is the smallest).
    first = np.full(comp.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, comp, np.arange(n_d))
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    fam_of_distinct_sig = rank[comp]

    sig_fam = fam_of_distinct_sig[d_codes]  # per batch-distinct prompt
    rid = np.concatenate(row_ids)
    rs = np.concatenate(row_sig)
    family[rid[rs >= 0]] = sig_fam[rs[rs >= 0]]

    # Family table: rows, distinct signatures, representative = the most
    # frequent distinct prompt (ties: smaller signature hash). Only the
    # representatives' texts are fetched, so memory never holds the corpus.
    n_fam = len(first)
    rows_per_d = np.bincount(d_codes, weights=np.bincount(rs[rs >= 0], minlength=offset), minlength=n_d)
    first_row_d = np.full(n_d, np.iinfo(np.int64).max)
    np.minimum.at(first_row_d, d_codes, np.concatenate(first_rows))
    order = np.lexsort((np.arange(n_d), -rows_per_d, fam_of_distinct_sig))
    lead = np.ones(n_d, bool)
    lead[1:] = fam_of_distinct_sig[order][1:] != fam_of_distinct_sig[order][:-1]
    rep_rows = first_row_d[order[lead]]  # one per family, in family order
    rep_text = _fetch_rows(prompts, rep_rows, batch_rows)
    table = pd.DataFrame({
        "family": np.arange(n_fam, dtype=np.int64),
        "prompts": np.bincount(family[family >= 0], minlength=n_fam).astype(np.int64),
        "distinct": np.bincount(fam_of_distinct_sig, minlength=n_fam).astype(np.int64),
        "representative": rep_text,
    })
    biggest = int(table["distinct"].max())
    stats["families"] = len(table)
    if biggest > max(1000, 0.2 * n_d):
        logger.warning("template family %d holds %d distinct prompts (%.0f%% of all): "
                       "generic band collisions may be chaining templates; raise the threshold",
                       int(table["distinct"].to_numpy().argmax()), biggest, 100 * biggest / n_d)
    logger.info("templates: %d rows, %d hashed, %d families (bands=%d x rows=%d)",
                n, stats["sampled"], len(table), bands, rows)
    return TemplateFamilies(family, table, stats)


def _fetch_rows(prompts: Any, rows: np.ndarray, batch_rows: int) -> list[str | None]:
    """Texts of the given rows (in the given order)."""
    if isinstance(prompts, LazyColumn):
        return prompts.take(rows, batch_rows)
    if isinstance(prompts, pa.ChunkedArray):
        prompts = prompts.cast(pa.large_string()) if pa.types.is_string(prompts.type) else prompts
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in prompts.take(pa.array(rows)).to_pylist()]
