"""One conversion point for tabular input: pandas, pyarrow, polars or a file path.

Everything the library accepts as a table goes through :func:`to_arrow`, which
returns a :class:`pyarrow.Table` without mutating or copying the caller's data
more than the conversion requires.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa

from ._exceptions import EngineUnavailableError, SchemaError

__all__ = ["to_arrow", "TableLike"]

TableLike = Any  # pandas.DataFrame | pyarrow.Table | polars.DataFrame | str | os.PathLike


def _read_path(path: Path, name: str) -> pa.Table:
    if not path.exists():
        raise FileNotFoundError(f"{name}: no such file or directory: {str(path)!r}")
    suffixes = "".join(path.suffixes).lower()
    if path.is_dir() or suffixes.endswith(".parquet") or suffixes.endswith(".pq"):
        import pyarrow.parquet as pq

        return pq.read_table(path)
    if suffixes.endswith((".csv", ".csv.gz", ".tsv")):
        import pyarrow.csv as pacsv

        parse = pacsv.ParseOptions(delimiter="\t" if ".tsv" in suffixes else ",")
        # Read every column as text: typing happens in schema validation, where a
        # bad value becomes a counted, reported quarantine instead of a crash.
        read = pacsv.ReadOptions(block_size=1 << 24)
        header = pacsv.open_csv(path, read_options=read, parse_options=parse).schema.names
        conv = pacsv.ConvertOptions(
            column_types={c: pa.large_string() for c in header},
            strings_can_be_null=True,
        )
        return pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=conv)
    raise SchemaError(
        f"{name}: cannot tell the format of {str(path)!r} from its suffix {suffixes!r}; "
        "pass a .parquet or .csv path, or a pandas/pyarrow/polars table."
    )


def to_arrow(data: TableLike, *, name: str = "table") -> pa.Table:
    """Convert a supported table-like object to a :class:`pyarrow.Table`.

    Parameters
    ----------
    data : pandas.DataFrame, pyarrow.Table, pyarrow.RecordBatch, polars.DataFrame, str or PathLike
        The input. Paths ending in ``.parquet`` (or a Parquet directory) and ``.csv``
        are read with pyarrow.
    name : str
        Name of the argument, used in error messages.

    Returns
    -------
    pyarrow.Table

    Raises
    ------
    SchemaError
        If the object is of an unsupported type.
    FileNotFoundError
        If a path does not exist.
    """
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, (str, os.PathLike)):
        return _read_path(Path(data), name)
    mod = type(data).__module__.split(".")[0]
    if mod == "pandas":
        return pa.Table.from_pandas(data, preserve_index=False)
    if mod == "polars":
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
