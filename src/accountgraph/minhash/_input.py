"""One conversion point for prompt columns: any text column in, a pyarrow string or binary array out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from .._exceptions import SchemaError

__all__ = ["as_text_array"]

_STRING_TYPES = (pa.string(), pa.large_string())
_BINARY_TYPES = (pa.binary(), pa.large_binary())


def _python_to_binary(values: Sequence[Any], name: str) -> pa.Array:
    """Encode a Python sequence to a binary array, keeping invalid bytes as they are."""
    out: list[bytes | None] = []
    for v in values:
        if v is None or (isinstance(v, float) and v != v):
            out.append(None)
        elif isinstance(v, str):
            out.append(v.encode("utf-8", "surrogatepass"))
        elif isinstance(v, (bytes, bytearray, memoryview)):
            out.append(bytes(v))
        else:
            raise SchemaError(
                f"{name}: expected str, bytes or None, got {type(v).__name__} ({v!r:.80}); "
                "convert the column to text first."
            )
    return pa.array(out, type=pa.large_binary())


def as_text_array(texts: Any, *, name: str = "texts") -> pa.Array | pa.ChunkedArray:
    """Convert a column of prompts to a pyarrow string, binary or null array.

    Parameters
    ----------
    texts : pyarrow.Array, pyarrow.ChunkedArray, polars.Series, pandas.Series, numpy.ndarray or sequence
        Prompts as ``str`` or ``bytes``; ``None``/NaN are nulls. The caller's
        object is never mutated.
    name : str
        Argument name used in error messages.

    Returns
    -------
    pyarrow.Array or pyarrow.ChunkedArray
        Of a string, binary or null type. Bytes and invalid text (lone
        surrogates) stay binary here and are decoded, with replacement and a
        count, by :func:`iter_text_batches`.

    Raises
    ------
    SchemaError
        If the column holds something other than text (numbers, nested lists),
        or is a single string rather than a column.
    """
    if isinstance(texts, (pa.Array, pa.ChunkedArray)):
        arr = texts
    elif hasattr(texts, "to_arrow") and type(texts).__module__.startswith("polars"):
        arr = texts.to_arrow()
    elif isinstance(texts, (str, bytes)):
        raise SchemaError(
            f"{name}: expected a column of prompts, got a single {type(texts).__name__}; "
            f"wrap it in a list: [{name}]."
        )
    else:
        try:
            arr = pa.array(texts, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, UnicodeEncodeError):
            # Mixed str/bytes, or str with lone surrogates: the one per-element
            # Python path (Python input is one object per row already).
            values = texts.tolist() if hasattr(texts, "tolist") else list(texts)
            arr = _python_to_binary(values, name)
    typ = arr.type
    if pa.types.is_dictionary(typ):
        arr = arr.cast(typ.value_type)
        typ = arr.type
    if typ == pa.string_view():
        arr = arr.cast(pa.large_string())
    elif typ == pa.binary_view():
        arr = arr.cast(pa.large_binary())
    typ = arr.type
    if typ in _STRING_TYPES or typ in _BINARY_TYPES or pa.types.is_null(typ):
        return arr
    raise SchemaError(
        f"{name}: expected a column of text (string or binary), got arrow type {typ}; "
        "cast it to strings first, e.g. series.astype(str)."
    )
