"""Text columns of result tables taken from Arrow arrays, as pandas would infer them from Python strings."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["string_column"]


def string_column(values: pa.Array, idx: np.ndarray) -> Any:
    """``values[idx]`` as the column pandas makes of those strings, without building Python strings.

    pandas 3 stores text columns in Arrow (``str``), so a column built from an object array of
    Python strings is converted string by string; taking from the Arrow array gives the same
    column directly (tens of millions of evidence rows: seconds and an object array saved).
    Earlier pandas infer ``object``, which is what it returns there, as for values that are not
    text (bytes). Nulls stay missing.
    """
    taken = values.take(pa.array(np.asarray(idx)))
    dtype = _text_dtype()
    if dtype == object or not (pa.types.is_string(taken.type) or pa.types.is_large_string(taken.type)):
        return np.asarray(taken.to_numpy(zero_copy_only=False), dtype=object)
    return pd.array(taken, dtype=dtype)


def _text_dtype() -> Any:
    """The dtype pandas infers for a column of Python strings (``str`` on pandas 3, else ``object``)."""
    return pd.Series(["a"]).dtype
