"""One conversion point for tabular input: pandas, pyarrow, polars or a file path.

Everything the library accepts as a table goes through :func:`to_arrow`, which
returns a :class:`pyarrow.Table` without mutating or copying the caller's data
more than the conversion requires. CSV reading lives in :mod:`._csv`, the
on-disk Parquet column in :mod:`._lazy`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pyarrow as pa

from .._exceptions import EngineUnavailableError, SchemaError
from ._csv import UNDECODABLE_COLUMN, check_encoding, read_csv
from ._lazy import LazyColumn
from ._utf8 import _invalid_utf8, latin1_to_utf8  # noqa: F401  (re-exported: tests and callers import them from here)

__all__ = ["to_arrow", "TableLike", "UNDECODABLE_COLUMN", "check_encoding", "is_parquet_path", "LazyColumn"]

logger = logging.getLogger(__name__)

TableLike = Any  # pandas.DataFrame | pyarrow.Table | polars.DataFrame | str | os.PathLike


def _read_path(path: Path, name: str, encoding: str | None = None) -> pa.Table:
    if not path.exists():
        raise FileNotFoundError(f"{name}: no such file or directory: {str(path)!r}")
    suffixes = "".join(path.suffixes).lower()
    if path.is_dir() or suffixes.endswith(".parquet") or suffixes.endswith(".pq"):
        import pyarrow.parquet as pq

        return pq.read_table(path)
    if suffixes.endswith((".csv", ".csv.gz", ".tsv")):
        return read_csv(path, name, ".tsv" in suffixes, encoding)
    raise SchemaError(
        f"{name}: cannot tell the format of {str(path)!r} from its suffix {suffixes!r}; "
        "pass a .parquet or .csv path, or a pandas/pyarrow/polars table."
    )


def _from_pandas(df: Any, name: str) -> pa.Table:
    """``pa.Table.from_pandas``, with a SchemaError naming the column and value it cannot convert.

    Named index levels (``df.set_index("account_id")``) are kept as columns;
    an unnamed index (row numbers) is dropped.
    """
    _check_unique_names([str(c) for c in df.columns], name)
    named = [n for n in df.index.names if n is not None and n not in df.columns]
    if named:
        df = df.reset_index(level=named)
    try:
        return pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        err = exc
    for c in df.columns:
        col = df[c]
        try:
            pa.array(col, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            pass
        else:
            continue
        # The error path only: look at the Python types of the column's values.
        vals = col.dropna()
        types = vals.map(type)
        first_t = types.iloc[0] if len(types) else None
        odd = vals[types != first_t]
        example = (f"{vals.iloc[0]!r} ({first_t.__name__}) and {odd.iloc[0]!r} ({type(odd.iloc[0]).__name__}) "
                   f"at row {odd.index[0]!r}") if len(odd) else repr(vals.iloc[0]) if len(vals) else "?"
        raise SchemaError(
            f"{name}.{c} mixes values of different types that cannot form one column: {example}. Convert the "
            f"column to one type first, e.g. df[{c!r}] = df[{c!r}].astype(str) (text is parsed per column: "
            f"ISO-8601 or epoch-second digits for times, as-is for identifiers)."
        ) from None
    raise SchemaError(f"{name}: cannot convert the pandas DataFrame to Arrow: {err}.") from None


def _check_unique_names(names: list[str], name: str) -> None:
    seen, dup = set(), []
    for c in names:
        if c in seen and c not in dup:
            dup.append(c)
        seen.add(c)
    if dup:
        raise SchemaError(f"{name} has duplicated column name(s) {dup}; each column must be named once. "
                          "Rename or drop the copies first.")


def to_arrow(data: TableLike, *, name: str = "table", encoding: str | None = None) -> pa.Table:
    """Convert a supported table-like object to a :class:`pyarrow.Table`.

    Parameters
    ----------
    data : pandas.DataFrame, pyarrow.Table, pyarrow.RecordBatch, polars.DataFrame or LazyFrame, str or PathLike
        The input. Paths ending in ``.parquet`` (or a Parquet directory) and ``.csv``
        are read with pyarrow.
    name : str
        Name of the argument, used in error messages.
    encoding : str, optional
        Text encoding of a CSV file (any Python codec, e.g. ``"latin-1"``).
        By default the file is read as UTF-8, and rows holding bytes that are
        not UTF-8 are marked in a bool column named :data:`UNDECODABLE_COLUMN`
        (their text decoded as Latin-1) so validation can quarantine them as
        ``invalid_utf8``. Ignored for Parquet and in-memory tables.

    Returns
    -------
    pyarrow.Table

    Raises
    ------
    SchemaError
        If the object is of an unsupported type, has duplicated column
        names, a CSV file is empty or unparseable, or a pandas column mixes
        types Arrow cannot combine. Named index levels of a pandas DataFrame
        are read as columns.
    InvalidParameterError
        If ``encoding`` names no Python codec.
    FileNotFoundError
        If a path does not exist.
    """
    table = _to_arrow(data, name=name, encoding=encoding)
    _check_unique_names(table.column_names, name)
    return table


def _to_arrow(data: TableLike, *, name: str = "table", encoding: str | None = None) -> pa.Table:
    """Body of :func:`to_arrow`."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, (str, os.PathLike)):
        return _read_path(Path(data), name, encoding)
    mod = type(data).__module__.split(".")[0]
    if mod == "pandas":
        return _from_pandas(data, name)
    if mod == "polars":
        if not hasattr(data, "to_arrow") and hasattr(data, "collect"):
            data = data.collect()  # a LazyFrame: run its query plan, then convert
        try:
            return data.to_arrow()
        except ImportError as exc:  # pragma: no cover - polars without pyarrow bridge
            raise EngineUnavailableError(
                "Converting a polars DataFrame needs polars' pyarrow bridge: "
                "pip install 'accountgraph[polars]'"
            ) from exc
    if hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    raise SchemaError(
        f"{name}: expected a pandas, pyarrow or polars table or a Parquet/CSV path; "
        f"got an object of type {type(data).__name__!r}."
    )


def is_parquet_path(data: Any) -> bool:
    """Whether ``data`` names a Parquet file or directory."""
    if not isinstance(data, (str, os.PathLike)):
        return False
    p = Path(data)
    return p.is_dir() or "".join(p.suffixes).lower().endswith((".parquet", ".pq"))
