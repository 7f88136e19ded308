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


# Microseconds per unit of an Arrow timestamp / date; ns divides instead.
_US_PER = {"s": 1_000_000, "ms": 1_000, "us": 1, "date32": 86_400_000_000, "date64": 1_000}
_I64 = np.iinfo(np.int64)


def _scale_to_us(v: np.ndarray, per: int) -> np.ndarray:
    """Exact ``v * per`` in int64; values whose product overflows saturate at the int64 bounds,
    far outside the accepted window, so they are quarantined as out of range (never wrapped)."""
    if per == 1:
        return v
    lim = _I64.max // per
    with np.errstate(over="ignore"):
        out = v * per
    out[v > lim] = _I64.max
    out[v < -lim] = _I64.min
    return out


def _temporal_to_us(col: pa.ChunkedArray) -> _Parsed:
    """Arrow timestamp or date column to microseconds, in exact integer arithmetic.

    Nanoseconds are floored to the microsecond (an Arrow cast would refuse to
    lose them); seconds, milliseconds and days that overflow microseconds
    saturate (see :func:`_scale_to_us`).
    """
    t = col.type
    unit = t.unit if pa.types.is_timestamp(t) else ("date32" if pa.types.is_date32(t) else "date64")
    raw = col.cast(pa.int32() if unit == "date32" else pa.int64()).cast(pa.int64())
    null = _null_mask(raw)
    v = np.asarray(raw.fill_null(0).to_numpy(), dtype=np.int64)
    us = v // 1000 if unit == "ns" else _scale_to_us(v, _US_PER[unit])
    return us, null, np.zeros(len(col), dtype=bool)


def _integer_to_us(col: pa.ChunkedArray) -> _Parsed:
    """Integer epoch seconds to microseconds without going through float (exact beyond 2**53)."""
    if pa.types.is_uint64(col.type):
        # Above int64 max is out of range anyway; saturate instead of wrapping.
        col = pc.min_element_wise(col, pa.scalar(_I64.max, pa.uint64()))
    raw = col.cast(pa.int64())
    null = _null_mask(raw)
    v = np.asarray(raw.fill_null(0).to_numpy(), dtype=np.int64)
    return _scale_to_us(v, 1_000_000), null, np.zeros(len(col), dtype=bool)


def _number_to_us(col: pa.ChunkedArray) -> _Parsed:
    """Floating epoch seconds to microseconds (rounded); beyond int64 saturates."""
    f = np.asarray(col.cast(pa.float64()).to_numpy(), dtype=np.float64)  # nulls -> nan
    null = np.isnan(f)
    bad = ~null & ~np.isfinite(f)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.where(null | bad, 0.0, np.round(f * 1e6))
    big = scaled >= 2.0**63
    small = scaled < -(2.0**63)
    vals = np.where(big | small, 0.0, scaled).astype(np.int64)
    vals[big] = _I64.max
    vals[small] = _I64.min
    return vals, null, bad


def _parse_texts(uniq: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Distinct text values to (microseconds, is_bad).

    ISO-8601 first; what does not parse as ISO is read as a number of epoch
    seconds (digit strings from CSV), so a column may mix both. A number too
    large for microseconds saturates and lands outside the accepted window.
    """
    parsed = pd.to_datetime(uniq, errors="coerce", utc=True, format="ISO8601")
    uniq_us = parsed.to_numpy(dtype="datetime64[us]", na_value=np.datetime64("NaT")).astype(np.int64, copy=True)
    bad = parsed.isna().to_numpy().copy()
    if bad.any():
        rest = pd.to_numeric(uniq[bad], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        num_us, num_null, num_bad = _number_to_us(pa.chunked_array([pa.array(rest, pa.float64())]))
        uniq_us[bad] = num_us
        bad[bad] = num_null | num_bad
    return uniq_us, bad


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
    if pa.types.is_integer(t):
        return _integer_to_us(col)
    if pa.types.is_floating(t):
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
