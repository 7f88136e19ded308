"""Timestamps of any input type to int64 UTC microseconds, with null and bad masks.

Accepted: Arrow timestamps (any unit, with or without a time zone; naive is
UTC), dates, numbers (epoch seconds) and text (ISO-8601, or digit strings as
epoch seconds). Every distinct text value is parsed once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._exceptions import SchemaError
from ._columns import combine_chunks

__all__ = ["MIN_TS_US", "MAX_TS_US", "to_us"]

# Timestamps outside this window are almost always a unit mistake (epoch
# milliseconds read as seconds lands in the year 50,000); quarantine them.
MIN_TS_US = int(pd.Timestamp("1990-01-01", tz="UTC").value // 1000)
MAX_TS_US = int(pd.Timestamp("2100-01-01", tz="UTC").value // 1000)

_Parsed = tuple[np.ndarray, np.ndarray, np.ndarray]


def _null_mask(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(pc.is_null(arr).to_numpy(zero_copy_only=False), dtype=bool)


def _temporal_to_us(col: pa.ChunkedArray) -> _Parsed:
    """Arrow timestamp or date column to microseconds."""
    t = col.type
    target = pa.timestamp("us", tz=t.tz) if pa.types.is_timestamp(t) else pa.timestamp("us")
    us = col.cast(target).cast(pa.int64())
    vals = np.asarray(us.fill_null(0).to_numpy(), dtype=np.int64)
    return vals, _null_mask(us), np.zeros(len(col), dtype=bool)


def _number_to_us(col: pa.ChunkedArray) -> _Parsed:
    """Epoch seconds (integer or float) to microseconds."""
    f = np.asarray(col.cast(pa.float64()).to_numpy(), dtype=np.float64)  # nulls -> nan
    null = np.isnan(f)
    bad = ~null & ~np.isfinite(f)
    with np.errstate(invalid="ignore", over="ignore"):
        vals = np.where(null | bad, 0, np.round(f * 1e6)).astype(np.int64)
    return vals, null, bad


def _parse_texts(uniq: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Distinct text values to (microseconds, is_bad)."""
    parsed = pd.to_datetime(uniq, errors="coerce", utc=True, format="ISO8601")
    if parsed.isna().any():
        # Digit strings (e.g. from CSV) are epoch seconds.
        num = pd.to_numeric(uniq, errors="coerce")
        fallback = pd.to_datetime(num, unit="s", errors="coerce", utc=True)
        parsed = parsed.fillna(fallback)
    uniq_us = parsed.to_numpy(dtype="datetime64[us]", na_value=np.datetime64("NaT")).astype(np.int64)
    return uniq_us, parsed.isna().to_numpy()


def _text_to_us(col: pa.ChunkedArray) -> _Parsed:
    """ISO-8601 or epoch-second text to microseconds, parsing each distinct value once."""
    n = len(col)
    enc = combine_chunks(col).dictionary_encode()
    uniq_us, uniq_bad = _parse_texts(enc.dictionary.to_pandas())
    idx = enc.indices
    null = _null_mask(idx)
    codes = np.asarray(idx.fill_null(0).to_numpy(), dtype=np.int64)
    if len(uniq_us) == 0:
        return np.zeros(n, dtype=np.int64), null, np.zeros(n, dtype=bool)
    vals = uniq_us[codes]
    bad = uniq_bad[codes] & ~null
    return np.where(bad | null, 0, vals), null, bad


def to_us(col: pa.ChunkedArray, column: str, name: str) -> _Parsed:
    """Timestamps to int64 UTC microseconds.

    Returns ``(values, is_null, is_bad)``; ``values`` is undefined where null/bad.
    Timezone-naive timestamps and strings without an offset are taken as UTC;
    numbers are epoch seconds.

    Raises
    ------
    SchemaError
        The column's type cannot hold times.
    """
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return _temporal_to_us(col)
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return _number_to_us(col)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _text_to_us(col)
    if pa.types.is_null(t):
        n = len(col)
        return np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    raise SchemaError(
        f"{name}.{column} must be a timestamp, epoch seconds (number) or ISO-8601 text; "
        f"found Arrow type {t}."
    )
