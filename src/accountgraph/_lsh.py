"""LSH banding of prompt signatures and prompt-template families.

A *template family* is a connected component of distinct prompts that share at
least one LSH band key: with ``b`` bands of ``r`` rows, two prompts whose token
sets have Jaccard similarity ``s`` share a key with probability
``1 - (1 - s**r)**b``, a steep S-curve around the chosen threshold. Families
are the graph signal the ring detector uses: accounts that send prompts of the
same family are linked. By default a shared key only links two prompts whose
signatures also agree on at least ``threshold`` of their positions
(verification), which stops rare false band collisions from chaining unrelated
prompts into one giant family on large inputs.

The pipeline is vectorised end to end: deduplicate identical prompts
(``dictionary_encode``), sign only the distinct ones
(:func:`accountgraph._minhash.prompt_signatures`), band keys, one sort to name
the keys, and :func:`scipy.sparse.csgraph.connected_components` on the
prompt--key bipartite graph.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.integrate import quad
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from ._exceptions import InvalidParameterError, SchemaError
from ._minhash import _fmix64, signatures_with_stats
from ._tokenize import _to_valid_utf8, as_text_array

__all__ = [
    "lsh_params",
    "lsh_band_keys",
    "template_families",
    "TemplateFamilies",
    "sample_per_account_window",
]

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=256)
def lsh_params(threshold: float, num_perm: int, *, weights: tuple[float, float] = (0.5, 0.5)) -> tuple[int, int]:
    """Bands and rows minimising weighted false-positive and false-negative probability.

    Same objective, search order and integrator as datasketch's
    ``MinHashLSH`` (``datasketch.lsh._optimal_param``), so the result is identical.

    Parameters
    ----------
    threshold : float
        Jaccard similarity threshold in (0, 1).
    num_perm : int
        Signature length; ``bands * rows <= num_perm``.
    weights : tuple of float, default (0.5, 0.5)
        Weights of the false-positive and false-negative areas.

    Returns
    -------
    (int, int)
        ``(bands, rows)``.

    Raises
    ------
    InvalidParameterError
        If ``threshold`` is not in (0, 1) or ``num_perm < 1``.

    Notes
    -----
    O(num_perm log num_perm) numerical integrations (~0.1 s at 128); cached.

    Examples
    --------
    >>> lsh_params(0.5, 128)
    (25, 5)
    """
    if not 0.0 < float(threshold) < 1.0:
        raise InvalidParameterError(f"The 'threshold' parameter of lsh_params must be a float in (0, 1). Got {threshold!r} instead.")
    if int(num_perm) < 1:
        raise InvalidParameterError(f"The 'num_perm' parameter of lsh_params must be an int >= 1. Got {num_perm!r} instead.")
    fp_w, fn_w = weights
    best, opt = float("inf"), (0, 0)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = quad(lambda s: 1 - (1 - s ** float(r)) ** float(b), 0.0, threshold)[0]
            fn = quad(lambda s: 1 - (1 - (1 - s ** float(r)) ** float(b)), threshold, 1.0)[0]
            err = fp * fp_w + fn * fn_w
            if err < best:
                best, opt = err, (b, r)
    return opt


def lsh_band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per band of every signature.

    Parameters
    ----------
    signatures : numpy.ndarray
        Shape ``(n, num_perm)``, unsigned integers (either signature mode).
    bands, rows : int
        Band layout, ``bands * rows <= num_perm``; the first ``bands * rows``
        positions are used.

    Returns
    -------
    numpy.ndarray
        ``uint64``, shape ``(n, bands)``. The low ``ceil(log2(bands))`` bits
        hold the band index, so keys of different bands never collide; the rest
        is a hash of the band's ``rows`` values (two different bands of values
        collide with probability about ``2**-(64 - log2(bands))``).

    Raises
    ------
    InvalidParameterError
        If the layout does not fit the signatures.

    Examples
    --------
    >>> sig = np.array([[1, 2, 3, 4], [1, 2, 9, 9]], dtype=np.uint64)
    >>> k = lsh_band_keys(sig, 2, 2)
    >>> bool(k[0, 0] == k[1, 0]), bool(k[0, 1] == k[1, 1])
    (True, False)
    """
    sig = np.asarray(signatures)
    if sig.ndim != 2 or sig.dtype.kind not in "ui":
        raise InvalidParameterError(f"lsh_band_keys expects a 2-d integer signature array; got shape {sig.shape}, dtype {sig.dtype}.")
    if bands < 1 or rows < 1 or bands * rows > sig.shape[1]:
        raise InvalidParameterError(
            f"lsh_band_keys: bands * rows must be in [1, num_perm={sig.shape[1]}]; got bands={bands}, rows={rows}. "
            "Use lsh_params(threshold, num_perm)."
        )
    n = sig.shape[0]
    vals = sig[:, : bands * rows].astype(np.uint64).reshape(n, bands, rows)
    h = np.broadcast_to(np.arange(bands, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15), (n, bands)).copy()
    for j in range(rows):
        h = _fmix64(h * np.uint64(0xBF58476D1CE4E5B9) + vals[:, :, j] + np.uint64(j + 1))
    bits = max(int(bands - 1).bit_length(), 0)
    if bits:
        h = (h & ~np.uint64((1 << bits) - 1)) | np.arange(bands, dtype=np.uint64)[None, :]
    return h


@dataclass
class TemplateFamilies:
    """Template families of a column of prompts (result of :func:`template_families`).

    Attributes
    ----------
    family : numpy.ndarray
        ``int64`` family id per input row; ``-1`` for null, token-less text.
    table : pyarrow.Table
        One row per family, ordered by family id: ``family``, ``n_rows``,
        ``n_distinct`` (distinct prompt strings), ``representative`` (most frequent
        prompt, ties to the smallest string), ``min_similarity`` and
        ``mean_similarity`` (signature-estimated Jaccard of member prompts to the
        representative; a low minimum in a big family is the mark of chaining).
    n_rows, n_null, n_no_tokens, n_invalid_utf8, n_distinct : int
        Input rows; null rows; non-null rows without tokens; rows that were not
        valid UTF-8 (decoded with replacement); distinct prompt strings hashed.
    bands, rows : int
        LSH layout used.
    largest_family_fraction : float
        Distinct prompts in the largest family / distinct prompts with tokens.
    chaining_suspected : bool
        True if that fraction exceeded ``max_family_fraction``.
    """

    family: np.ndarray
    table: pa.Table
    n_rows: int
    n_null: int
    n_no_tokens: int
    n_invalid_utf8: int
    n_distinct: int
    bands: int
    rows: int
    largest_family_fraction: float
    chaining_suspected: bool
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def n_families(self) -> int:
        """Number of families (singletons included)."""
        return int(self.table.num_rows)

    def to_pandas(self) -> pd.DataFrame:
        """The per-family table as a pandas DataFrame."""
        return self.table.to_pandas()

    def to_arrow(self) -> pa.Table:
        """The per-family table (same as :attr:`table`)."""
        return self.table


def _components(keys: np.ndarray) -> np.ndarray:
    """Connected components of the item--key bipartite graph; keys has shape (n_items, bands)."""
    n, b = keys.shape
    if n == 0:
        return np.zeros(0, np.int64)
    uniq, inv = np.unique(keys.ravel(), return_inverse=True)
    item = np.repeat(np.arange(n, dtype=np.int64), b)
    graph = csr_matrix((np.ones(n * b, dtype=np.int8), (item, n + inv.ravel())), shape=(n + uniq.size, n + uniq.size))
    _, labels = connected_components(graph, directed=False)
    return labels[:n].astype(np.int64)


def _verified_components(keys: np.ndarray, sig: np.ndarray, rank: np.ndarray, threshold: float) -> np.ndarray:
    """Components linking each bucket member to the bucket's leader only if their signatures agree >= threshold.

    The leader of a bucket (band key) is its member with the smallest text
    rank, so edges do not depend on row order. Candidate pairs are
    deduplicated across bands and verified in chunks (memory O(chunk * num_perm)).
    """
    n, b = keys.shape
    if n == 0:
        return np.zeros(0, np.int64)
    flat = keys.ravel()
    item = np.repeat(np.arange(n, dtype=np.int64), b)
    order = np.lexsort((rank[item], flat))
    k_s, i_s = flat[order], item[order]
    start = np.r_[True, k_s[1:] != k_s[:-1]]
    leader = i_s[np.maximum.accumulate(np.where(start, np.arange(k_s.size), 0))]
    cand = i_s != leader
    pair = np.unique(i_s[cand] * n + leader[cand])
    src, dst = pair // n, pair % n
    keep = np.zeros(pair.size, dtype=bool)
    step = max(1, (1 << 24) // max(sig.shape[1], 1))
    for c0 in range(0, pair.size, step):
        s_, d_ = src[c0 : c0 + step], dst[c0 : c0 + step]
        keep[c0 : c0 + step] = (sig[s_] == sig[d_]).mean(axis=1) >= threshold
    graph = csr_matrix((np.ones(int(keep.sum()), dtype=np.int8), (src[keep], dst[keep])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def template_families(
    texts: Any,
    *,
    threshold: float = 0.5,
    num_perm: int = 128,
    seed: int = 1,
    exact: bool = False,
    bands: int | None = None,
    rows: int | None = None,
    verify: bool = True,
    max_family_fraction: float = 0.5,
    batch_size: int = 8192,
    n_jobs: int | None = -1,
) -> TemplateFamilies:
    """Group prompts into template families with MinHash LSH.

    Parameters
    ----------
    texts : column of str or bytes
        Prompts (pyarrow, polars, pandas, numpy or a sequence). Not mutated.
    threshold : float, default 0.5
        Jaccard threshold of the token sets; sets ``(bands, rows)`` through
        :func:`lsh_params` unless both are given.
    num_perm : int, default 128
        Signature length.
    seed : int, default 1
        Signature seed.
    exact : bool, default False
        Use datasketch-identical signatures (slower) instead of the fast sketch.
    bands, rows : int, optional
        Explicit LSH layout.
    verify : bool, default True
        Link two prompts that share a band key only if their signatures agree
        on at least ``threshold`` of the positions (each bucket's members are
        checked against its leader, the member with the smallest text). Without
        it, families are the connected components of the plain prompt--band-key
        graph, and the rare false band collisions (probability
        ``1 - (1 - J**r)**b`` per pair, but there are n**2 / 2 pairs) chain
        unrelated prompts into one giant family on large inputs; see
        ``benchmarks/results/minhash.md``.
    max_family_fraction : float, default 0.5
        Chaining guard: if one family holds more than this fraction of the
        distinct prompts (and at least 1,000 of them), a warning is logged and
        ``chaining_suspected`` is set. Raise ``threshold`` or check the
        family's ``min_similarity`` if it fires.
    batch_size, n_jobs : int
        See :func:`accountgraph._minhash.prompt_signatures`.

    Returns
    -------
    TemplateFamilies

    Raises
    ------
    InvalidParameterError
        For out-of-domain parameters.
    SchemaError
        If ``texts`` is not a column of text.

    Notes
    -----
    Identical prompts are hashed once: cost is one hash-table pass over all
    rows plus signatures of the ``U`` distinct prompts, and
    O(U * bands * log(U * bands)) for naming keys; memory O(U * (num_perm + bands)).
    Family ids do not depend on row order: families are numbered by
    decreasing ``n_rows``, then by their representative's text.

    Examples
    --------
    >>> fam = template_families(["write a poem about the sea", "write a poem about the moon",
    ...                          "tax rules for farms in ohio", None], threshold=0.5)
    >>> fam.family.tolist()
    [0, 0, 1, -1]
    """
    if not 0.0 < max_family_fraction <= 1.0:
        raise InvalidParameterError(
            f"The 'max_family_fraction' parameter of template_families must be in (0, 1]. Got {max_family_fraction!r} instead."
        )
    if bands is None or rows is None:
        if bands is not None or rows is not None:
            raise InvalidParameterError("template_families: give both 'bands' and 'rows', or neither (then 'threshold' sets them).")
        bands, rows = lsh_params(threshold, num_perm)
    arr = as_text_array(texts)
    n = len(arr)
    if pa.types.is_null(arr.type):
        arr = arr.cast(pa.large_string())
    wide = pa.large_binary() if pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type) else pa.large_string()
    enc = pc.dictionary_encode(arr.cast(wide))
    chunks = enc.chunks if isinstance(enc, pa.ChunkedArray) else [enc]
    dictionary = chunks[0].dictionary if chunks else pa.array([], wide)
    codes = (
        np.concatenate([pc.fill_null(c.indices, -1).to_numpy().astype(np.int64) for c in chunks])
        if chunks
        else np.zeros(0, np.int64)
    )
    u = len(dictionary)
    sig, stats = signatures_with_stats(dictionary, num_perm=num_perm, seed=seed, exact=exact, batch_size=batch_size, n_jobs=n_jobs)
    count = np.bincount(codes[codes >= 0], minlength=u)
    valid = np.flatnonzero(stats.has_tokens)
    keys = lsh_band_keys(sig[valid], bands, rows)
    # Deterministic naming: rank distinct prompts by text, pick representatives
    # (most rows, then smallest text), order families by (-rows, representative).
    rank = np.empty(u, np.int64)
    rank[pc.sort_indices(dictionary).to_numpy()] = np.arange(u)
    comp = _verified_components(keys, sig[valid], rank[valid], threshold) if verify else _components(keys)
    if comp.size:
        comp = np.unique(comp, return_inverse=True)[1].ravel()  # dense 0..k-1
    n_comp = int(comp.max()) + 1 if comp.size else 0
    cnt_v, rank_v = count[valid], rank[valid]
    order = np.lexsort((rank_v, -cnt_v, comp))
    first = np.flatnonzero(np.r_[True, comp[order][1:] != comp[order][:-1]]) if comp.size else np.zeros(0, np.int64)
    rep_local = order[first]  # representative (index into valid) per component, comps ascending
    comp_rows = np.bincount(comp, weights=cnt_v, minlength=n_comp).astype(np.int64)
    comp_distinct = np.bincount(comp, minlength=n_comp)
    fam_order = np.lexsort((rank_v[rep_local], -comp_rows))
    fam_of_comp = np.empty(n_comp, np.int64)
    fam_of_comp[fam_order] = np.arange(n_comp)
    fam_of_unique = np.full(u, -1, np.int64)
    fam_of_unique[valid] = fam_of_comp[comp]
    family = np.where(codes >= 0, fam_of_unique[np.maximum(codes, 0)], -1) if u else np.full(n, -1, np.int64)
    sim = (sig[valid] == sig[valid[rep_local[comp]]]).mean(axis=1) if valid.size else np.zeros(0)
    min_sim = np.ones(n_comp)
    np.minimum.at(min_sim, comp, sim)
    mean_sim = np.bincount(comp, weights=sim, minlength=n_comp) / np.maximum(comp_distinct, 1)
    reps, _ = _to_valid_utf8(dictionary.take(pa.array(valid[rep_local[fam_order]])))
    table = pa.table(
        {
            "family": pa.array(np.arange(n_comp, dtype=np.int64)),
            "n_rows": pa.array(comp_rows[fam_order]),
            "n_distinct": pa.array(comp_distinct[fam_order].astype(np.int64)),
            "representative": reps.cast(pa.large_string()),
            "min_similarity": pa.array(min_sim[fam_order]),
            "mean_similarity": pa.array(mean_sim[fam_order]),
        }
    )
    largest = int(comp_distinct.max()) if n_comp else 0
    frac = largest / valid.size if valid.size else 0.0
    chaining = frac > max_family_fraction and largest >= 1000
    if chaining:
        logger.warning(
            "template_families: the largest family holds %.1f%% of %d distinct prompts (min similarity to its "
            "representative %.2f); band collisions may be chaining unrelated prompts. Raise 'threshold' "
            "(now %s) or inspect the family table.",
            100 * frac, valid.size, float(min_sim[fam_order[0]]), threshold,
        )
    # Row-level counts: map per-distinct flags back to rows.
    row_invalid = int(count[stats.invalid_utf8].sum())
    row_no_tok = int(count[~stats.has_tokens].sum())
    if row_invalid:
        logger.warning("template_families: %d row(s) were not valid UTF-8 and were decoded with replacement", row_invalid)
    logger.info(
        "template_families: %d rows, %d distinct, %d families (bands=%d, rows=%d), %d null, %d without tokens",
        n, u, n_comp, bands, rows, arr.null_count, row_no_tok,
    )
    return TemplateFamilies(
        family=family.astype(np.int64),
        table=table,
        n_rows=n,
        n_null=int(arr.null_count),
        n_no_tokens=row_no_tok,
        n_invalid_utf8=row_invalid,
        n_distinct=u,
        bands=int(bands),
        rows=int(rows),
        largest_family_fraction=float(frac),
        chaining_suspected=bool(chaining),
        params={"threshold": threshold, "num_perm": num_perm, "seed": seed, "exact": exact, "verify": verify},
    )


def sample_per_account_window(
    accounts: Any, timestamps: Any, *, cap: int, window: Any = "1h"
) -> np.ndarray:
    """Mask keeping at most ``cap`` rows per account per time window.

    Use it before :func:`template_families` to bound the cost of accounts that
    send millions of prompts: a ring is visible from a sample of each member's
    prompts.

    Parameters
    ----------
    accounts : array-like
        Account id or code per row (any hashable values; nulls form one group).
    timestamps : array-like
        ``datetime64`` values (or anything :func:`pandas.to_datetime` reads),
        or plain integers in the unit of ``window``.
    cap : int
        Rows kept per (account, window); >= 1.
    window : str, timedelta or int, default "1h"
        Window length: a pandas offset string (``"1h"``, ``"15min"``), a
        timedelta, or an int for integer timestamps. Windows are aligned to the
        epoch (``floor(t / window)``).

    Returns
    -------
    numpy.ndarray
        ``bool`` mask; True rows are kept. The earliest ``cap`` rows of each
        group are kept; exact timestamp ties are broken by row position.

    Raises
    ------
    InvalidParameterError
        If ``cap < 1``, the window is not positive, or the lengths differ.

    Notes
    -----
    One ``lexsort`` of the rows: O(n log n) time, O(n) memory.

    Examples
    --------
    >>> ts = np.array(["2024-01-01T00:10", "2024-01-01T00:20", "2024-01-01T00:30", "2024-01-01T01:05"],
    ...               dtype="datetime64[s]")
    >>> sample_per_account_window(["a", "a", "a", "a"], ts, cap=2).tolist()
    [True, True, False, True]
    """
    if int(cap) < 1:
        raise InvalidParameterError(f"The 'cap' parameter of sample_per_account_window must be an int >= 1. Got {cap!r} instead.")
    acc_codes, _ = pd.factorize(np.asarray(accounts, dtype=object) if not isinstance(accounts, (pd.Series, np.ndarray)) else accounts, use_na_sentinel=True)
    ts_in = np.asarray(timestamps)
    if ts_in.dtype.kind in "iu":
        ts = ts_in.astype(np.int64)
        if not isinstance(window, (int, np.integer)):
            raise InvalidParameterError(f"sample_per_account_window: integer timestamps need an integer 'window'; got {window!r}.")
        w = int(window)
    else:
        try:
            ts = pd.to_datetime(pd.Series(ts_in)).to_numpy(dtype="datetime64[ns]").view(np.int64)
            w = int(pd.Timedelta(window).value)
        except (ValueError, TypeError) as err:
            raise SchemaError(f"sample_per_account_window: cannot read timestamps/window ({err}); pass datetime64 values and e.g. window='1h'.") from err
    if w <= 0:
        raise InvalidParameterError(f"The 'window' parameter of sample_per_account_window must be positive. Got {window!r} instead.")
    if len(acc_codes) != len(ts):
        raise InvalidParameterError(f"sample_per_account_window: {len(acc_codes)} accounts but {len(ts)} timestamps.")
    n = len(ts)
    if n == 0:
        return np.zeros(0, dtype=bool)
    win = np.floor_divide(ts, w)
    order = np.lexsort((np.arange(n), ts, win, acc_codes))
    a_s, w_s = acc_codes[order], win[order]
    start = np.r_[True, (a_s[1:] != a_s[:-1]) | (w_s[1:] != w_s[:-1])]
    group_start = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    keep = np.empty(n, dtype=bool)
    keep[order] = (np.arange(n) - group_start) < int(cap)
    return keep
