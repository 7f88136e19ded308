"""Column helpers shared by the validators: renaming, required columns, identifier text, codes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._exceptions import SchemaError
from ._csv import UNDECODABLE_COLUMN

__all__ = ["combine_chunks", "factorize_sorted", "factorize_union"]


def _pop_undecodable(raw: pa.Table) -> tuple[pa.Table, np.ndarray | None]:
    """Split off the mark :func:`to_arrow` puts on CSV rows that are not UTF-8."""
    if UNDECODABLE_COLUMN not in raw.column_names:
        return raw, None
    mark = np.asarray(raw[UNDECODABLE_COLUMN].to_numpy(zero_copy_only=False), bool)
    return raw.drop_columns([UNDECODABLE_COLUMN]), mark


def _rename(table: pa.Table, columns: Mapping[str, str] | None, name: str) -> pa.Table:
    """Apply a ``{canonical_name: user_column}`` map."""
    if not columns:
        return table
    names = list(table.column_names)
    for canonical, user in columns.items():
        if user not in names:
            raise SchemaError(
                f"{name}: column map says {canonical!r} is in column {user!r}, "
                f"but {name} has no such column. Columns found: {names}."
            )
        if canonical != user and canonical in names:
            # The user's mapping wins; the unmapped canonical column is ignored.
            names[names.index(canonical)] = f"__ignored__{canonical}"
        names[names.index(user)] = canonical
    return table.rename_columns(names)


def _require(table: pa.Table, required: Sequence[str], name: str) -> None:
    missing = [c for c in required if c not in table.column_names]
    if missing:
        raise SchemaError(
            f"{name} is missing required column(s) {missing}. Columns found: "
            f"{table.column_names}. Map your own names with columns={{'{missing[0]}': '<your column>'}} "
            f"(CLI: --column {missing[0]}=<your column>)."
        )


def _as_string(col: pa.ChunkedArray, column: str, name: str) -> pa.ChunkedArray:
    """Cast an identifier column to string; empty/blank strings become null."""
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_null(t):
        return pa.chunked_array([pa.nulls(len(col), pa.large_string())])
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        out = col
    elif pa.types.is_integer(t):
        out = col.cast(pa.string())
    elif pa.types.is_binary(t) or pa.types.is_large_binary(t):
        try:
            out = col.cast(pa.string())
        except pa.ArrowInvalid:
            # Undecodable identifiers are still identifiers: keep their bytes as hex.
            out = pa.chunked_array([pa.array([None if v is None else v.hex() for v in col.to_pylist()], pa.string())])
    else:
        raise SchemaError(
            f"{name}.{column} must hold strings (or integers used as identifiers); "
            f"found Arrow type {t}. Cast the column to string first."
        )
    trimmed = pc.utf8_trim_whitespace(out)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, trimmed.type), trimmed)


def take_sorted(col: pa.ChunkedArray | pa.Array, rows: np.ndarray) -> pa.ChunkedArray:
    """``col.take(rows)`` for increasing ``rows``, chunk by chunk.

    Arrow's ``take`` on a chunked column concatenates its chunks first, which
    overflows the 32-bit offsets of a ``string`` column holding more than
    2 GiB (the prompts of ~10M events held in memory); taking within each
    chunk never does, and the result keeps one chunk per source chunk.
    """
    if isinstance(col, pa.Array):
        col = pa.chunked_array([col])
    rows = np.asarray(rows, np.int64)
    bounds = np.cumsum([0] + [len(c) for c in col.chunks])
    cut = np.searchsorted(rows, bounds)
    pieces = [col.chunk(k).take(pa.array(rows[cut[k]:cut[k + 1]] - bounds[k]))
              for k in range(col.num_chunks) if cut[k + 1] > cut[k]]
    return pa.chunked_array(pieces, type=col.type)


def take_rows(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """``table.take(rows)`` for increasing ``rows``, column by column with :func:`take_sorted`.

    A table left on disk (:class:`~._parquet.ParquetRows`) reads just those rows.
    """
    if hasattr(table, "take_rows"):
        return table.take_rows(rows)
    return pa.Table.from_arrays([take_sorted(col, rows) for col in table.columns], schema=table.schema)


def combine_chunks(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One contiguous array; text goes to 64-bit offsets first so > 2 GiB cannot overflow."""
    if isinstance(col, pa.ChunkedArray):
        if pa.types.is_string(col.type):
            col = col.cast(pa.large_string())
        elif pa.types.is_binary(col.type):
            col = col.cast(pa.large_binary())
        return col.combine_chunks()
    return col


def _indices(arr: pa.DictionaryArray) -> np.ndarray:
    """The indices of a dictionary array as int64, -1 where null."""
    idx = arr.indices
    if not idx.null_count:
        return np.asarray(idx.to_numpy(), dtype=np.int64)
    raw = np.asarray(idx.fill_null(0).to_numpy(), dtype=np.int64)
    return np.where(np.asarray(idx.is_valid().to_numpy(zero_copy_only=False), bool), raw, -1)


def _one_dictionary(arr: pa.ChunkedArray | pa.Array) -> pa.DictionaryArray:
    """A dictionary column as one dictionary array (chunks unified)."""
    if isinstance(arr, pa.ChunkedArray):
        if arr.num_chunks == 1:
            return arr.chunk(0)
        return arr.unify_dictionaries().combine_chunks() if arr.num_chunks else \
            pa.DictionaryArray.from_arrays(pa.array([], pa.int32()), pa.array([], arr.type.value_type))
    return arr


def _dtype(n_uniques: int) -> type:
    return np.int32 if n_uniques < 2**31 - 1 else np.int64


def factorize_sorted(arr: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Dense codes over sorted unique values; null -> -1.

    Returns
    -------
    codes : numpy.ndarray of int32 (or int64 if needed)
    uniques : pyarrow.Array, sorted ascending

    Notes
    -----
    Hash-based ``dictionary_encode`` numbers values in order of first
    appearance; re-ranking the (small) dictionary by sort order makes the codes
    independent of row order. Cost: O(n) hashing plus O(u log u) for u uniques.
    A dictionary array is coded by its dictionary's values (all of them): O(n)
    to map the indices plus the sort of the dictionary.
    """
    if pa.types.is_dictionary(arr.type):
        d = _one_dictionary(arr)
        lut, uniq = factorize_sorted(d.dictionary)
        lut = np.append(lut.astype(np.int64), -1)
        return lut[_indices(d)].astype(_dtype(len(uniq))), uniq
    arr = combine_chunks(arr)
    enc = arr.dictionary_encode()
    order = np.asarray(pc.array_sort_indices(enc.dictionary).to_numpy(), dtype=np.int64)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    idx = enc.indices
    null = np.asarray(pc.is_null(idx).to_numpy(zero_copy_only=False), dtype=bool)
    raw = np.asarray(idx.fill_null(0).to_numpy(), dtype=np.int64)
    codes = rank[raw] if len(rank) else np.zeros(len(raw), np.int64)
    codes[null] = -1
    return codes.astype(_dtype(len(order))), enc.dictionary.take(pa.array(order))


def factorize_union(columns: list[pa.ChunkedArray | pa.Array]) -> tuple[list[np.ndarray], pa.Array]:
    """Codes of several text columns over the sorted distinct values they hold together; null -> -1.

    Equals ``factorize_sorted`` of the columns concatenated (as ``large_string``),
    split back per column, without materialising the text of dictionary
    columns: those contribute the dictionary values their rows use.

    Examples
    --------
    >>> d = pa.DictionaryArray.from_arrays(pa.array([1, None, 1]), pa.array(["x", "c", "a"]))
    >>> codes, uniq = factorize_union([d, pa.array(["b", "c"])])
    >>> [c.tolist() for c in codes], uniq.to_pylist()
    ([[1, -1, 1], [0, 1]], ['b', 'c'])
    """
    parts, dict_idx = [], []
    for col in columns:
        if pa.types.is_dictionary(col.type):
            d = _one_dictionary(col)
            idx = _indices(d)
            used = np.flatnonzero(np.bincount(idx[idx >= 0], minlength=len(d.dictionary)))
            parts.append(combine_chunks(d.dictionary.take(pa.array(used))).cast(pa.large_string()))
            remap = np.full(len(d.dictionary) + 1, -1, np.int64)
            remap[used] = np.arange(len(used))
            dict_idx.append(remap[idx])
        else:
            parts.append(combine_chunks(col).cast(pa.large_string()))
            dict_idx.append(None)
    codes_all, uniq = factorize_sorted(pa.chunked_array(parts, type=pa.large_string()))
    out, lo = [], 0
    for part, idx in zip(parts, dict_idx):
        c = codes_all[lo:lo + len(part)]
        lo += len(part)
        out.append(c if idx is None else np.append(c, c.dtype.type(-1))[idx])
    return out, uniq
