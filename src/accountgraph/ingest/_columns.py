"""Column helpers shared by the validators: renaming, required columns, identifier text, codes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._exceptions import SchemaError
from ._csv import UNDECODABLE_COLUMN

__all__ = ["combine_chunks", "factorize_sorted"]


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
    """``table.take(rows)`` for increasing ``rows``, column by column with :func:`take_sorted`."""
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
    """
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
    dtype = np.int32 if len(order) < 2**31 - 1 else np.int64
    return codes.astype(dtype), enc.dictionary.take(pa.array(order))
