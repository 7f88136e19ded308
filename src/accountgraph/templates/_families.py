"""Prompt-template families: the stage that turns prompts into a signal (and the public tool).

Prompts are streamed in batches (from memory or lazily from a Parquet file),
identical prompts inside a batch are hashed once, MinHash signatures come from
:func:`accountgraph.minhash.shingle_signatures`, and each signature is cut
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
:mod:`accountgraph.minhash` (no strings are built; ASCII prompts in one
compiled pass over their bytes), and sketched with
one-permutation hashing: each shingle falls in one of ``num_perm`` bins, the
bin keeps its minimum. Bands whose bins are all empty (very short prompts) are
not used as keys. Prompts with fewer than three tokens have no family.

Bounded cost
------------
Working memory is one batch of text plus ``bands`` 64-bit keys per (sampled)
prompt. For very large inputs an optional cap keeps at most ``cap`` prompts per
account per time window (:func:`accountgraph.templates.sample_per_account_window`); repetition
evidence is then measured on the sample.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .._parallel import map_batches
from .._progress import task
from ..ingest import LazyColumn, take_sorted
from ..minhash import EMPTY_BIN, as_text_array, band_keys, lsh_params, shingle_signatures
from ._linking import BandKeys, band_families
from .._unique import factorize_sorted_values, lexsort

__all__ = ["TemplateFamilies", "template_families"]

logger = logging.getLogger(__name__)

class TemplateFamilies:
    """Template family of each prompt and a table of the families.

    Attributes
    ----------
    family : ndarray of int64, shape (n,)
        Family id per input row; -1 for null/token-less prompts and rows not sampled.
    families : pandas.DataFrame
        ``family``, ``prompts`` (rows), ``distinct`` (distinct prompt texts),
        ``representative`` (the most frequent distinct text; ties by the
        smaller signature hash), ordered by family id. For prompts left on disk
        (a Parquet column) the representatives are read on first access, in one
        scan; :meth:`representatives` reads those of a few families only.
    stats : dict
        Rows, sampled rows, nulls, token-less and invalid-UTF-8 counts, bands.
    """

    def __init__(self, family: np.ndarray, counts: pd.DataFrame, stats: dict[str, Any],
                 rep_rows: np.ndarray | None = None, prompts: Any = None, batch_rows: int = 65_536) -> None:
        self.family, self.stats = family, stats
        self._counts, self._rep_rows, self._prompts, self._batch_rows = counts, rep_rows, prompts, batch_rows
        self._table: pd.DataFrame | None = None
        if not self.is_lazy:  # prompts in memory: fetch now, so the result does not pin the corpus
            self._table = self._build()

    @property
    def is_lazy(self) -> bool:
        """Whether the representatives are still on disk."""
        return isinstance(self._prompts, LazyColumn) and self._table is None and len(self._counts) > 0

    def _build(self) -> pd.DataFrame:
        table = self._counts.copy()
        reps = _fetch_rows(self._prompts, self._rep_rows, self._batch_rows) if len(table) else []
        table["representative"] = pd.Series(reps, index=table.index, dtype=object) if len(table) else \
            pd.Series([], dtype=object)
        self._prompts = None
        return table

    @property
    def families(self) -> pd.DataFrame:
        """The per-family table (representatives read on first access if they are on disk)."""
        if self._table is None:
            self._table = self._build()
        return self._table

    def representatives(self, families: np.ndarray) -> list[str | None]:
        """Representative texts of the given families, reading only their rows."""
        families = np.asarray(families, np.int64)
        if self._table is not None:
            return self._table["representative"].to_numpy()[families].tolist()
        return _fetch_rows(self._prompts, self._rep_rows[families], self._batch_rows)

    def texts_only(self) -> TemplateFamilies:
        """A copy without the per-row ``family`` array: what a result keeps to read texts later."""
        out = copy.copy(self)
        out.family = np.zeros(0, np.int64)
        return out

    @property
    def n_families(self) -> int:
        """Number of families (singletons included)."""
        return len(self._counts)

    def to_pandas(self) -> pd.DataFrame:
        """The per-family table (a copy)."""
        return self.families.copy()

    def to_arrow(self) -> pa.Table:
        """The per-family table as Arrow."""
        return pa.Table.from_pandas(self.families, preserve_index=False)


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
    similarity: float = 0.5,
    num_perm: int = 64,
    shingle_width: int = 3,
    seed: int = 1,
    sample: np.ndarray | None = None,
    batch_rows: int = 65_536,
    n_rows: int | None = None,
) -> TemplateFamilies:
    """Group prompts into template families (MinHash LSH + connected components).

    This is the builder ``detect`` runs; ``result.templates`` is its family table.

    Parameters
    ----------
    prompts : column of text
        pyarrow Array/ChunkedArray, pandas/polars Series, numpy array or a
        sequence of str/bytes (or a lazy Parquet column inside the pipeline).
        Not mutated.
    similarity : float, default 0.5
        Jaccard similarity of the shingle sets at which two prompts are likely
        to share a band (sets the LSH layout through
        :func:`accountgraph.minhash.lsh_params`).
    num_perm : int, default 64
        Signature length.
    shingle_width : int, default 3
        Words per shingle; 1 compares word-token sets (see "Tokens" above for
        why detect uses 3).
    seed : int, default 1
    sample : ndarray of bool, optional
        Only these rows are hashed (see :func:`sample_per_account_window`).
    batch_rows : int, default 65536
        Rows per batch; bounds working memory.
    n_rows : int, optional
        Number of rows (required for a lazy column without a length).

    Returns
    -------
    TemplateFamilies

    Notes
    -----
    Cost: signatures dominate (see ``benchmarks/results/minhash.md``); banding
    is one compiled pass per batch; families are one sparse
    connected-components pass over distinct signatures, with one edge per
    band-key collision.

    Examples
    --------
    >>> poem = ("write a short poem about the sea at night for my daughter who loves "
    ...         "boats and the old lighthouse near our town")
    >>> fams = template_families([poem, poem.replace("daughter", "son"),
    ...                           "tax rules for farms in ohio", None])
    >>> fams.family.tolist()
    [0, 0, 1, -1]
    """
    if not isinstance(prompts, (LazyColumn, pa.Array, pa.ChunkedArray)):
        prompts = as_text_array(prompts, name="prompts")
    n = int(n_rows if n_rows is not None else len(prompts))
    bands, rows = lsh_params(similarity, num_perm)
    stats = {"rows": n, "sampled": 0, "null": 0, "no_tokens": 0, "invalid_utf8": 0, "bands": bands,
             "rows_per_band": rows}
    signed = _sign_batches(prompts, sample, batch_rows, bands, rows, num_perm, shingle_width, seed, stats)
    family = np.full(n, -1, np.int64)
    if signed.n_distinct == 0:
        return TemplateFamilies(family, pd.DataFrame(columns=["family", "prompts", "distinct", "representative"]),
                                stats)
    d_codes, fam_of_d = _families_of_signatures(signed, bands)
    rid = np.concatenate(signed.row_ids)
    rs = np.concatenate(signed.row_sig)
    family[rid[rs >= 0]] = fam_of_d[d_codes][rs[rs >= 0]]
    counts, rep_rows = _family_table(family, signed, d_codes, fam_of_d, rs)
    stats["families"] = len(counts)
    _log_families(counts, len(fam_of_d), stats)
    return TemplateFamilies(family, counts, stats, rep_rows, prompts, batch_rows)


def _log_families(table: pd.DataFrame, n_d: int, stats: dict[str, Any]) -> None:
    """Warn when one family swallows many distinct prompts (chaining); log the totals."""
    biggest = int(table["distinct"].max())
    if biggest > max(1000, 0.2 * n_d):
        logger.warning("template family %d holds %d distinct prompts (%.0f%% of all): "
                       "generic band collisions may be chaining templates; raise the similarity",
                       int(table["distinct"].to_numpy().argmax()), biggest, 100 * biggest / n_d)
    logger.info("templates: %d rows, %d hashed, %d families (bands=%d x rows=%d)",
                stats["rows"], stats["sampled"], len(table), stats["bands"], stats["rows_per_band"])


@dataclass
class _Signed:
    """Per-batch outputs of the signing pass, concatenated later."""

    row_ids: list[np.ndarray] = field(default_factory=list)
    row_sig: list[np.ndarray] = field(default_factory=list)  # per row: global id of its batch-distinct prompt
    # Band keys of every signed prompt, band by band (the largest data of the stage;
    # spilled to files past a few hundred MiB, see BandKeys).
    keys: BandKeys = field(default_factory=lambda: BandKeys(0, 1))
    sighash: list[np.ndarray] = field(default_factory=list)
    first_rows: list[np.ndarray] = field(default_factory=list)  # a row holding each batch-distinct prompt
    n_distinct: int = 0


def _sign_batch(item: tuple[np.ndarray, pa.Array], bands: int, rows: int, num_perm: int, width: int,
                seed: int) -> tuple:
    """Everything about one batch that does not depend on other batches.

    Text columns are signed row by row: prompts repeat too rarely inside a batch
    (~2 % on the synthetic worlds) for hashing whole texts to find them to pay,
    and identical texts get identical signatures, which are merged across
    batches anyway. Binary columns may hold invalid UTF-8, which is counted
    per distinct text, so they are signed per distinct text.
    """
    rows_idx, arr = item
    if pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type):
        return _sign_distinct(item, bands, rows, num_perm, width, seed)
    sig, _ = shingle_signatures(arr, num_perm=num_perm, seed=seed, width=width)
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), bool) if arr.null_count else \
        np.ones(len(arr), bool)
    empty = (sig == EMPTY_BIN).all(axis=1)
    ok = valid & ~empty
    keys, acc = band_keys(sig[ok], bands, rows)
    n_ok = int(ok.sum())
    local = np.full(len(arr), -1, np.int64)
    local[ok] = np.arange(n_ok)
    counts = (len(rows_idx), 0, int((~valid).sum()), int((valid & empty).sum()))
    return rows_idx, local, keys, acc, rows_idx[ok], n_ok, counts


def _sign_distinct(item: tuple[np.ndarray, pa.Array], bands: int, rows: int, num_perm: int, width: int,
                   seed: int) -> tuple:
    """:func:`_sign_batch` signing each distinct text of the batch once."""
    rows_idx, arr = item
    enc = arr.dictionary_encode()
    uniq = enc.dictionary if len(enc.dictionary) else pa.array([""], pa.string())  # all-null batch: keeps indexing valid
    sig, n_bad = shingle_signatures(uniq, num_perm=num_perm, seed=seed, width=width)
    empty = (sig == EMPTY_BIN).all(axis=1)
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


def _sign_batches(prompts: Any, sample: np.ndarray | None, batch_rows: int, bands: int, rows: int,
                  num_perm: int, width: int, seed: int, stats: dict[str, Any]) -> _Signed:
    """Sign every (sampled) prompt batch by batch and collect band keys and signature hashes.

    Batches run on a thread pool; results come back in batch order, so the
    output does not depend on the number of workers.
    """
    total = int(sample.sum()) if sample is not None else int(stats["rows"])
    out = _Signed(keys=BandKeys(total, bands))

    def work(item: tuple[np.ndarray, pa.Array]) -> tuple:
        return _sign_batch(item, bands, rows, num_perm, width, seed)

    with task("prompts signed", total=total, unit="prompts") as progress:
        for item in map_batches(work, _batches(prompts, sample, batch_rows), -1):
            _collect(out, item, stats)
            progress.update(item[6][0])
    return out


def _collect(out: _Signed, item: tuple, stats: dict[str, Any]) -> None:
    """Append one signed batch to ``out`` (ids of distinct prompts made global) and count it."""
    rows_idx, rsig, k, acc, frows, n_ok, counts = item
    stats["sampled"] += counts[0]
    stats["invalid_utf8"] += counts[1]
    stats["null"] += counts[2]
    stats["no_tokens"] += counts[3]
    out.row_ids.append(rows_idx)
    out.row_sig.append(np.where(rsig >= 0, rsig + out.n_distinct, -1))
    out.keys.append(k)
    out.sighash.append(acc)
    out.first_rows.append(frows)
    out.n_distinct += n_ok


def _families_of_signatures(signed: _Signed, bands: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct signatures and their family: connected components of "shares a band key".

    Returns ``(d_codes, fam_of_d)``: for every batch-distinct prompt the id of its
    distinct signature across batches, and for every distinct signature its
    order-free family id.
    """
    hashes = np.concatenate(signed.sighash)
    # Identical prompts in different batches have identical signatures.
    d_codes, d_uniq = factorize_sorted_values(hashes)  # mostly distinct: one sort of the rows
    n_d = len(d_uniq)
    del hashes
    # Families: union-find over "shares a band key" (:mod:`._linking`), numbered by
    # their smallest signature hash (d_uniq is sorted, so by smallest index).
    try:
        fam_of_d = band_families(signed.keys, d_codes, n_d)
    finally:
        signed.keys.close()
    return d_codes, fam_of_d


def _family_table(family: np.ndarray, signed: _Signed, d_codes: np.ndarray, fam_of_d: np.ndarray,
                  rs: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows and distinct signatures per family, and the row of each family's representative.

    The representative is the most frequent distinct prompt (ties: smaller
    signature hash); only the row is kept here, the text is read when asked for.
    """
    n_d = len(fam_of_d)
    n_fam = int(fam_of_d.max()) + 1
    rows_per_d = np.bincount(d_codes, weights=np.bincount(rs[rs >= 0], minlength=signed.n_distinct), minlength=n_d)
    first_row_d = np.full(n_d, np.iinfo(np.int64).max)
    np.minimum.at(first_row_d, d_codes, np.concatenate(signed.first_rows))
    order = lexsort((np.arange(n_d), -rows_per_d, fam_of_d))
    lead = np.ones(n_d, bool)
    lead[1:] = fam_of_d[order][1:] != fam_of_d[order][:-1]
    rep_rows = first_row_d[order[lead]]  # one per family, in family order
    counts = pd.DataFrame({
        "family": np.arange(n_fam, dtype=np.int64),
        "prompts": np.bincount(family[family >= 0], minlength=n_fam).astype(np.int64),
        "distinct": np.bincount(fam_of_d, minlength=n_fam).astype(np.int64),
    })
    return counts, rep_rows


def _fetch_rows(prompts: Any, rows: np.ndarray, batch_rows: int) -> list[str | None]:
    """Texts of the given rows (in the given order)."""
    if isinstance(prompts, LazyColumn):
        return prompts.take(rows, batch_rows)
    rows = np.asarray(rows, np.int64)
    order = np.argsort(rows, kind="stable")
    out = np.empty(len(rows), dtype=object)
    out[order] = take_sorted(prompts, rows[order]).to_pylist()  # chunk by chunk: no 2 GiB concatenation
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in out]
