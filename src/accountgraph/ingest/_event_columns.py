"""Event columns shared by both validators (in memory and streamed): prompts, token counts, copies."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._exceptions import SchemaError
from ._columns import _as_string
from ._duplicates import duplicate_rows
from ._lazy import LazyColumn
from ._quarantine import _LeftOut

__all__: list[str] = []

logger = logging.getLogger("accountgraph.ingest._events")


def _is_text_type(t: pa.DataType) -> bool:
    return (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
            or pa.types.is_large_binary(t) or pa.types.is_null(t) or pa.types.is_dictionary(t))


def _check_prompt_type(t: pa.DataType) -> None:
    if not _is_text_type(t):
        raise SchemaError(f"events.prompt must be text; found Arrow type {t}.")


# Token counts past 2**53 cannot be told apart once a float has held them, and
# no real response is that long: quarantine them rather than round them.
_MAX_TOKENS = 2**53


def _integer_tokens(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(values, is_null, is_bad)`` of an integer column, exactly (no float round trip)."""
    if pa.types.is_uint64(col.type):
        col = pc.min_element_wise(col, pa.scalar(_MAX_TOKENS, pa.uint64()))
    raw = col.cast(pa.int64())
    null = np.asarray(pc.is_null(raw).to_numpy(zero_copy_only=False), bool)
    v = np.asarray(raw.fill_null(0).to_numpy(), dtype=np.int64)
    return v, null, ~null & ((v < 0) | (v >= _MAX_TOKENS))


def _float_tokens(f: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(values, is_null, is_bad)`` of float counts: negative, fractional, infinite or >= 2**53 is bad."""
    null = np.isnan(f)
    with np.errstate(invalid="ignore"):
        bad = ~null & ((f < 0) | ~np.isfinite(f) | (f != np.floor(f)) | (f >= _MAX_TOKENS))
    return np.where(null | bad, 0, f).astype(np.int64), null, bad


def _output_tokens(col: pa.ChunkedArray, out: _LeftOut) -> np.ndarray:
    """Token counts as int64 (-1 = unknown); negative, fractional, huge or non-numeric rows quarantined."""
    t = col.type
    if pa.types.is_integer(t):
        v, null, bad = _integer_tokens(col)
    elif pa.types.is_floating(t):
        v, null, bad = _float_tokens(np.asarray(col.cast(pa.float64()).to_numpy(), dtype=np.float64))
    elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        f = pd.to_numeric(col.to_pandas(), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if pa.types.is_null(t):
            raw_null = np.ones(len(col), bool)
        else:
            raw_null = np.asarray(pc.is_null(_as_string(col, "output_tokens", "events")).to_numpy(
                zero_copy_only=False), bool)
        out.drop(np.isnan(f) & ~raw_null, "bad_output_tokens")  # text that is not a number
        v, null, bad = _float_tokens(f)
    else:
        raise SchemaError(f"events.output_tokens must be an integer column; found Arrow type {t}. "
                          "Cast it to int64 (counts of tokens, null where unknown).")
    out.drop(bad, "bad_output_tokens")
    return np.where(null | bad, -1, v)


def _prompt_column(table: pa.Table) -> pa.ChunkedArray | None:
    if "prompt" not in table.column_names:
        return None
    _check_prompt_type(table["prompt"].type)
    return table["prompt"]


def _log_kept(keep: np.ndarray) -> int:
    """Number of rows left out (logged when there are any)."""
    n = len(keep)
    dropped = int(n - keep.sum())
    if dropped:
        logger.info("events: kept %d of %d rows (%d quarantined)", n - dropped, n, dropped)
    return dropped


def _drop_duplicates(raw: pa.Table, ts: np.ndarray, out: _LeftOut, lazy: tuple[str, LazyColumn] | None,
                     drop: bool, candidates: np.ndarray | None = None) -> int:
    """Count (and, with ``drop``, quarantine) rows that are exact copies of an earlier kept row."""
    dup = duplicate_rows(raw, out.keep, ts, lazy, candidates)
    n_dup = int(dup.sum())
    if drop:
        out.drop(dup, "duplicate_event")
    elif n_dup:
        logger.warning("events: %d row(s) are exact copies of an earlier row; kept (drop_duplicates=False)", n_dup)
    return n_dup
